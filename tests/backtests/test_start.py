"""Backtests started from a strategy's page or the API and run by the worker (django-q2 runs
synchronously under the test settings): the form's checks, progress, the report, failures."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from apps.backtests import services, tasks
from apps.backtests.engine import BacktestParams
from apps.backtests.models import BacktestRun
from apps.market.models import Candle
from tests.backtests.conftest import SYMBOL
from tests.factories import MarketFactory
from tests.strategies.factories import StrategyFactory, client_for

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
GOOD = {"timeframe": "1h", "cash": "10000", "fee_bps": "4", "slippage_bps": "2", "size_pct": "100"}


@pytest.fixture
def strategy(market):
    return StrategyFactory(name="RSI swing")


def start_url(strategy) -> str:
    return f"/backtests/new/{strategy.pk}/"


def post_form(client, strategy, market, fields: dict[str, str]):
    return client.post(start_url(strategy), {"market": market.pk, **GOOD, **fields}, **HTMX)


def queued_run(strategy, market, **params) -> BacktestRun:
    """A run stored and queued, its task not run yet (the on-commit callback is not executed)."""
    return services.backtest_run_create(
        request=services.BacktestRequest(
            spec=strategy.parsed_spec(),
            market=market,
            params=BacktestParams(**params),
            strategy_name=strategy.name,
            strategy_source=BacktestRun.Source.STORED,
            strategy=strategy,
        )
    )


def test_the_strategy_page_offers_the_form_to_operators_only(operator, viewer, strategy) -> None:
    page = client_for(operator).get(f"/strategies/{strategy.pk}/").content.decode()
    assert f'hx-get="{start_url(strategy)}"' in page

    assert start_url(strategy) not in client_for(viewer).get(f"/strategies/{strategy.pk}/").content.decode()
    assert client_for(viewer).get(start_url(strategy)).status_code == 403
    assert client_for(viewer).post(start_url(strategy), {"market": 1, **GOOD}).status_code == 403
    assert not BacktestRun.objects.exists()


def test_the_form_offers_the_specs_stored_markets_and_its_timeframe(operator, strategy, market) -> None:
    MarketFactory(symbol="ETH/USDT:USDT", base="ETH")  # stored, but not one of the spec's markets

    form = client_for(operator).get(start_url(strategy), **HTMX).content.decode()

    assert f'<option value="{market.pk}"' in form and "ETH/USDT:USDT" not in form
    assert '<option value="1h" selected>' in form
    assert 'type="date"' in form


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"size_pct": "0"}, "size_pct", "Size-pct must be in (0, 100], not 0."),
        ({"fee_bps": "-1"}, "fee_bps", "Fee-bps must be between 0 and 1000 basis points, not -1."),
        ({"sl_pct": "100"}, "sl_pct", "Sl-pct must be in (0, 100), not 100."),
        ({"cash": "lots"}, "cash", "Enter a number."),
        ({"start": "2024-02-01", "end": "2024-01-31"}, "end", "The last day is before the first day."),
        ({"market": "999999"}, "market", "Select a valid choice."),
        ({"start": "2030-01-01"}, None, "fewer than 2 1h candles for BTC/USDT:USDT on binanceusdm from 2030-01-01"),
    ],
)
def test_bad_input_is_shown_inline_and_stores_nothing(
    operator, strategy, market, django_capture_on_commit_callbacks, fields, field, message
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = post_form(client_for(operator), strategy, market, fields)

    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="backtest-start"' in page
    assert message in page.replace("&#x27;", "'")
    if field is not None:
        assert f'name="{field}"' in page
    assert not BacktestRun.objects.exists()


def test_a_started_run_is_queued_then_run_by_the_worker_and_opens_on_its_report(
    operator, viewer, strategy, market, django_capture_on_commit_callbacks
) -> None:
    client = client_for(operator)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post_form(client, strategy, market, {"sl_pct": "2"})
    run = BacktestRun.objects.get()
    assert response["HX-Redirect"] == f"/backtests/{run.pk}/"
    assert (run.status, run.progress, run.created_by, run.strategy, run.sl_pct) == ("queued", 0, operator, strategy, 2)
    waiting = client_for(viewer).get(f"/backtests/{run.pk}/").content.decode()
    assert 'id="run-progress"' in waiting and "Queued" in waiting
    # Refreshed by the run's live backtest events, with a slow poll for a browser without its websocket.
    trigger = f"tradeops:event[detail.type=='backtest'&&detail.data.run_id=={run.pk}] from:document"
    assert f'hx-trigger="{trigger}, every 30s"' in waiting

    for callback in callbacks:  # what the commit would have done: the worker's task, synchronously
        callback()

    run.refresh_from_db()
    assert (run.status, run.progress, run.phase, run.error) == ("done", 100, "", "")
    assert run.bars == 600 and run.trade_count > 0 and run.started_at <= run.finished_at
    assert Path(run.report_path).is_file()
    reader = client_for(viewer)
    assert reader.get(f"/backtests/{run.pk}/progress/", **HTMX)["HX-Refresh"] == "true"
    page = reader.get(f"/backtests/{run.pk}/").content.decode()
    assert 'id="run-metrics"' in page and 'id="run-progress"' not in page
    assert f'<iframe id="run-report" src="/backtests/{run.pk}/files/report/"' in page
    report = reader.get(f"/backtests/{run.pk}/files/report/")
    assert report.status_code == 200 and report["X-Frame-Options"] == "SAMEORIGIN"
    assert b"RSI swing on BTC/USDT:USDT" in b"".join(report.streaming_content)


def test_progress_is_recorded_phase_by_phase_up_to_100(strategy, market) -> None:
    run = queued_run(strategy, market)
    reported: list[tuple[str, int]] = []
    stored: list[tuple[str, int]] = []

    def watch(phase: str, percent: int) -> None:
        reported.append((phase, percent))
        row = BacktestRun.objects.get(pk=run.pk)
        stored.append((row.phase, row.progress))

    services.backtest_run_execute(run=run, progress=watch)

    phases = [phase for phase, _percent in reported]
    assert [phase for phase in phases if phase != "compiling"] == ["loading", "signals", "simulating", "writing", ""]
    percents = [percent for _phase, percent in reported]
    assert percents == sorted(percents) and percents[-1] == 100
    # The row shows each phase while it runs (the page polls it), then the finished state.
    assert stored[:-1] == reported[:-1] and stored[-1] == ("", 100)


def test_a_run_delivered_twice_runs_once(strategy, market) -> None:
    run = queued_run(strategy, market)

    assert tasks.backtest_run(run.pk).startswith(f"backtest run #{run.pk} done")
    assert tasks.backtest_run(run.pk) == f"backtest run #{run.pk} was not queued any more"
    assert tasks.backtest_run(run.pk + 1000) == f"backtest run #{run.pk + 1000} no longer exists"


def test_a_failure_is_recorded_in_plain_words_and_shown(viewer, strategy, market) -> None:
    run = queued_run(strategy, market)
    Candle.objects.filter(market=market).delete()  # the data went away while the run was queued

    assert "failed: fewer than 2 1h candles" in tasks.backtest_run(run.pk)

    run.refresh_from_db()
    assert run.status == "failed" and run.finished_at is not None
    assert run.error.startswith("fewer than 2 1h candles for BTC/USDT:USDT on binanceusdm")
    page = client_for(viewer).get(f"/backtests/{run.pk}/").content.decode()
    assert 'id="run-error"' in page and "fewer than 2 1h candles" in page
    assert 'id="run-metrics"' not in page and "/files/report/" not in page
    assert "failed" in client_for(viewer).get("/backtests/").content.decode()


def test_unwritable_reports_fail_the_run_with_the_reason(strategy, market, tmp_path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the output directory should go")
    run = queued_run(strategy, market)
    BacktestRun.objects.filter(pk=run.pk).update(output_dir=str(blocker / "run"))
    run.refresh_from_db()

    with pytest.raises(OSError):
        services.backtest_run_execute(run=run)

    run.refresh_from_db()
    assert run.status == "failed"
    assert run.error.startswith(f"the report files could not be written {blocker / 'run'}")


# ---------------------------------------------------------------------------------------- API

API = "/api/v1/backtests"


def api_post(client, body):
    return client.post(API, body, content_type="application/json")


def test_api_starts_a_run_for_operators(operator, strategy, market, django_capture_on_commit_callbacks) -> None:
    client = client_for(operator)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_post(client, {"strategy_id": strategy.pk, "market_id": market.pk, "tp_pct": 3})

    assert response.status_code == 202, response.content
    assert response.json()["status"] == "queued"  # as committed; the worker ran it after
    detail = client.get(f"{API}/{response.json()['id']}").json()
    assert (detail["status"], detail["progress"], detail["timeframe"]) == ("done", 100, "1h")
    assert float(detail["tp_pct"]) == 3
    assert detail["files"]["report"] == f"/backtests/{detail['id']}/files/report/"


def test_api_refuses_viewers_and_bad_input(viewer, operator, strategy, market) -> None:
    body = {"strategy_id": strategy.pk, "market_id": market.pk}
    assert api_post(client_for(viewer), body).status_code == 403

    response = api_post(client_for(operator), {**body, "size_pct": 0})
    assert response.status_code == 422
    assert response.json()["detail"] == [{"loc": ["body", "size_pct"], "msg": "size-pct must be in (0, 100], not 0"}]
    other = MarketFactory(symbol="ETH/USDT:USDT", base="ETH")
    response = api_post(client_for(operator), {**body, "market_id": other.pk})
    assert response.status_code == 422
    assert "ETH/USDT:USDT is not one of RSI swing's markets (BTC/USDT:USDT)" in response.json()["detail"][0]["msg"]
    response = api_post(client_for(operator), {**body, "start": "0001-01-01T00:00:00+01:00"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "start"
    assert not BacktestRun.objects.exists()


def test_api_reads_a_period_with_any_offset_as_utc(operator, strategy, market) -> None:
    # PostgreSQL refuses an offset such as +23:50: the period is stored in UTC (23:55+23:50 is 00:05 UTC).
    body = {"strategy_id": strategy.pk, "market_id": market.pk, "start": "2024-01-01T23:55:00+23:50"}

    response = api_post(client_for(operator), body)

    assert response.status_code == 202, response.content
    run = BacktestRun.objects.get()
    assert run.requested_start == datetime(2024, 1, 1, 0, 5, tzinfo=UTC)


def test_command_runs_take_the_same_path(market, tmp_path) -> None:
    from tests.backtests.conftest import run_backtest_command

    run_backtest_command("--strategy", "rsi_mean_reversion", "--symbol", SYMBOL, out=tmp_path / "run")

    run = BacktestRun.objects.get()
    assert (run.status, run.progress, run.started_at is not None) == ("done", 100, True)
