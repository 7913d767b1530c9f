"""/metrics (README "Metrics and health"): behind its token, parsed by Prometheus's own parser, summing
the metric files of several processes, and reading the database's figures at scrape time."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from apps.core import prometheus
from apps.traders.models import Alert, EquitySnapshot, Execution
from apps.traders.tasks import run_trader_cycle
from tests.factories import ExchangeAccountFactory, TraderFactory
from tests.traders.conftest import trade_plan_for

TOKEN = "metrics-token-" + "x7Kq2vP9" * 4


def scrape(client: Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, by name and labels, as Prometheus's parser reads them."""
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


@pytest.fixture
def metrics_on(settings, monkeypatch):
    settings.METRICS_TOKEN = TOKEN
    monkeypatch.delenv(prometheus.MULTIPROC_ENV, raising=False)


def test_metrics_are_off_without_a_token_and_say_how_to_turn_them_on(settings, client) -> None:
    settings.METRICS_TOKEN = ""
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything")
    assert response.status_code == 404
    assert b"set METRICS_TOKEN" in response.content


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x"])
def test_metrics_refuse_a_missing_or_wrong_token(metrics_on, client, header) -> None:
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.get("/metrics", **extra)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"tradeops_" not in response.content


@pytest.mark.django_db
def test_a_cycle_run_by_the_worker_task_is_counted_and_timed(metrics_on, client) -> None:
    trader = TraderFactory(status="stopped")
    labels = {"trader": str(trader.pk), "outcome": "skipped"}
    before = prometheus.REGISTRY.get_sample_value("tradeops_trader_cycles_total", labels) or 0
    assert "the trader is stopped" in run_trader_cycle(trader.pk)
    samples = scrape(client)
    assert samples[("tradeops_trader_cycles_total", tuple(sorted(labels.items())))] == before + 1
    count = samples[("tradeops_trader_cycle_seconds_count", (("trader", str(trader.pk)),))]
    assert count >= 1


@pytest.mark.django_db
def test_database_figures_are_read_at_scrape_time(metrics_on, client) -> None:
    heartbeat = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    trader = TraderFactory(name="Desk A", status="running", heartbeat_at=heartbeat)
    plan = trade_plan_for(trader)
    for leg, status in (("entry", "filled"), ("stop_loss", "open"), ("take_profit", "open")):
        Execution.objects.create(
            plan=plan,
            leg=leg,
            client_order_id=f"to-{plan.pk}-{leg}",
            side="buy",
            order_type="market",
            amount=Decimal("0.01"),
            status=status,
        )
    Alert.objects.create(level="critical", kind="position_drift", message="drift")
    samples = scrape(client)
    pk = str(trader.pk)
    assert samples[("tradeops_trader_info", (("name", "Desk A"), ("status", "running"), ("trader", pk)))] == 1
    assert samples[("tradeops_trader_heartbeat_timestamp_seconds", (("trader", pk),))] == heartbeat.timestamp()
    exchange = trader.account.exchange
    assert samples[("tradeops_orders", (("exchange", exchange), ("status", "open")))] == 2
    assert samples[("tradeops_orders", (("exchange", exchange), ("status", "filled")))] == 1
    assert samples[("tradeops_alerts_open", (("kind", "position_drift"), ("level", "critical")))] == 1
    assert samples[("tradeops_queue_depth", ())] >= 0
    assert samples[("tradeops_scrape_collector_up", (("collector", "TradersCollector"),))] == 1


@pytest.mark.django_db
def test_equity_pnl_and_drawdown_come_from_each_traders_snapshots(metrics_on, client) -> None:
    trader, other = TraderFactory(), TraderFactory()
    t0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    figures = [  # minutes, equity, realised, unrealised, fees
        (0, "1000", "0", "0", "0"),
        (5, "1200", "150", "55", "5"),  # the peak
        (10, "900", "50", "-120", "30"),
    ]
    for minutes, equity, realised, unrealised, fees in figures:
        EquitySnapshot.objects.create(
            trader=trader,
            account=trader.account,
            time=t0 + timedelta(minutes=minutes),
            source="schedule",
            equity=Decimal(equity),
            balance=Decimal(equity),
            realised=Decimal(realised),
            unrealised=Decimal(unrealised),
            fees=Decimal(fees),
        )
    # The account's own snapshot (no trader) is not a trader's.
    EquitySnapshot.objects.create(
        account=trader.account, time=t0, source="schedule", equity=5, balance=5, realised=0, unrealised=0, fees=0
    )
    samples = scrape(client)
    label = (("trader", str(trader.pk)),)
    assert samples[("tradeops_trader_equity", label)] == 900
    assert samples[("tradeops_trader_pnl", label)] == 50 - 120 - 30
    assert samples[("tradeops_trader_drawdown", label)] == pytest.approx(900 / 1200 - 1)  # -25 %, by hand
    assert samples[("tradeops_trader_equity_timestamp_seconds", label)] == (t0 + timedelta(minutes=10)).timestamp()
    assert ("tradeops_trader_equity", (("trader", str(other.pk)),)) not in samples


@pytest.mark.django_db
def test_a_failing_collector_is_reported_and_the_rest_still_answers(metrics_on, client, monkeypatch) -> None:
    class Broken:
        def collect(self):
            raise RuntimeError("database down")

    monkeypatch.setattr(prometheus, "_scrape_collectors", [*prometheus._scrape_collectors, Broken()])
    ExchangeAccountFactory()
    samples = scrape(client)
    assert samples[("tradeops_scrape_collector_up", (("collector", "Broken"),))] == 0
    assert samples[("tradeops_scrape_collector_up", (("collector", "TradersCollector"),))] == 1


WRITER = textwrap.dedent(
    """
    import sys
    from apps.core import prometheus

    cycles, clients = int(sys.argv[1]), int(sys.argv[2])
    for _ in range(cycles):
        with prometheus.cycle_observed(trader_id=7) as observation:
            observation.outcome = "ran"
    prometheus.WEBSOCKET_CLIENTS.inc(clients)
    prometheus.LLM_TOKENS.labels(model="gpt", direction="input").inc(100 * cycles)
    print(prometheus.process_identifier())
    """
)


@pytest.mark.django_db
def test_two_processes_report_together_in_multiprocess_mode(metrics_on, client, tmp_path, monkeypatch) -> None:
    """Two writer processes (as a web and a worker) and this one scraping their files."""
    env = {**os.environ, prometheus.MULTIPROC_ENV: str(tmp_path)}
    identifiers = [
        subprocess.run(
            [sys.executable, "-c", WRITER, str(cycles), str(clients)],
            env=env,
            cwd=settings.BASE_DIR,
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout.strip()
        for cycles, clients in ((2, 3), (1, 4))
    ]
    assert len(set(identifiers)) == 2
    monkeypatch.setenv(prometheus.MULTIPROC_ENV, str(tmp_path))
    samples = scrape(client)
    assert samples[("tradeops_trader_cycles_total", (("outcome", "ran"), ("trader", "7")))] == 3
    assert samples[("tradeops_trader_cycle_seconds_count", (("trader", "7"),))] == 3
    assert samples[("tradeops_llm_tokens_total", (("direction", "input"), ("model", "gpt")))] == 300
    assert samples[("tradeops_websocket_clients", ())] == 7
    # A process that ended no longer counts its websocket clients; its counters stay in the totals.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(identifiers[0], path=str(tmp_path))
    samples = scrape(client)
    assert samples[("tradeops_websocket_clients", ())] == 4
    assert samples[("tradeops_trader_cycles_total", (("outcome", "ran"), ("trader", "7")))] == 3


def test_serve_empties_the_shared_metrics_directory_at_start(tmp_path, monkeypatch) -> None:
    from apps.core.management.commands.serve import child_environment

    (tmp_path / "counter_old-1.db").write_bytes(b"\0" * 8)
    monkeypatch.setenv(prometheus.MULTIPROC_ENV, str(tmp_path))
    assert child_environment()[prometheus.MULTIPROC_ENV] == str(tmp_path)
    assert list(Path(tmp_path).iterdir()) == []
