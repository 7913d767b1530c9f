"""`manage.py backtest --trader` and `manage.py trader_dry_run` on candles stored in the database:
their outputs, and a plain error for each thing that can be missing."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal as D

import pytest
from django.core.management import CommandError, call_command

from apps.audit.models import DecisionLog
from apps.backtests.models import BacktestRun
from apps.exchanges.models import PaperOrder
from apps.market.candles_io import ms_to_datetime
from apps.strategies.models import Strategy
from apps.strategies.presets import preset_spec_data
from apps.traders.models import TradePlan
from apps.traders.services import trader_create
from tests.backtests.conftest import BARS, SYMBOL, run_backtest_command, stored_series
from tests.exchanges.paper.helpers import paper_account
from tests.factories import RiskProfileFactory
from tests.strategies.factories import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def trader(market):
    strategy = Strategy.objects.create(
        name="rsi", spec=preset_spec_data("rsi_mean_reversion", timeframe="1h", markets=[SYMBOL])
    )
    return trader_create(
        name="desk",
        account=paper_account(leverage=5),
        risk_profile=RiskProfileFactory(symbol_cooldown_seconds=0),
        strategy=strategy,
        markets=[market.pk],
        leverage=5,
        sizing="fixed",
        sizing_pct=D(50),
        stop_loss="percent",
        stop_loss_value=D(2),
        take_profit="percent",
        take_profit_value=D(3),
    )


def dry_run(*args: str) -> str:
    stdout = io.StringIO()
    call_command("trader_dry_run", *args, stdout=stdout)
    return stdout.getvalue()


# --- backtest --trader ---------------------------------------------------------------------------


def test_a_trader_backtest_writes_the_backtest_files_and_prints_the_metrics(trader, tmp_path) -> None:
    output = run_backtest_command("--trader", "desk", out=tmp_path / "run")

    first, last = (ms_to_datetime(int(t)) for t in stored_series().open_time_ms[[0, -1]])
    assert output.splitlines()[0] == (
        f"desk (trader) on {SYMBOL} binanceusdm 1h, {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC, {BARS} bars"
    )
    with open(tmp_path / "run" / "trades.csv", newline="") as handle:
        trades = list(csv.DictReader(handle))
    assert trades, "the volatile walk should make trades"
    assert f"  Trades         {len(trades)}\n" in output
    document = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert document["parameters"]["trader"] == "desk"
    assert document["parameters"]["fill"] == "close"
    assert document["metrics"]["trade_count"] == len(trades)
    run = BacktestRun.objects.get()
    assert f"Recorded as BacktestRun #{run.pk}" in output
    assert (run.strategy_source, run.status, run.fill, run.trade_count) == ("trader", "done", "close", len(trades))
    assert (run.strategy_name, run.bars, run.metrics["trade_count"]) == ("desk", BARS, len(trades))
    # Nothing is sent: no plan, no order, no decision of the trader's.
    assert not TradePlan.objects.exists() and not PaperOrder.objects.exists() and not DecisionLog.objects.exists()


def test_a_trader_backtest_is_listed_and_shown_like_every_run(trader, viewer) -> None:
    run_backtest_command("--trader", "desk")
    run = BacktestRun.objects.get()
    client = client_for(viewer)

    listing = client.get("/backtests/?source=trader")
    detail = client.get(f"/backtests/{run.pk}/")
    report = client.get(f"/backtests/{run.pk}/files/report/")

    assert listing.status_code == detail.status_code == report.status_code == 200
    assert "desk" in listing.content.decode() and "(trader)" in listing.content.decode()
    assert "desk" in detail.content.decode()


def test_a_trader_backtest_covers_only_the_period_asked_for(trader, tmp_path) -> None:
    first = ms_to_datetime(int(stored_series().open_time_ms[0]))
    output = run_backtest_command("--trader", "desk", "--from", f"{first:%Y-%m-%d}", "--to", f"{first:%Y-%m-%d}")
    assert output.splitlines()[0].endswith(", 24 bars")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--trader", "nobody"), "no trader named 'nobody' (known: desk)"),
        (
            ("--trader", "desk", "--symbol", "ETH/USDT:USDT"),
            f"trader 'desk' does not trade ETH/USDT:USDT (it trades {SYMBOL})",
        ),
        (
            ("--trader", "desk", "--from", "2030-01-01"),
            f"no 1h candles for {SYMBOL} on binanceusdm from 2030-01-01 00:00",
        ),
        (("--trader", "desk", "--cash", "0"), "cash must be a positive amount, not 0"),
        (("--trader", "desk", "--grid", "sl_pct=1,2"), "a trader runs its own rules (drop --grid)"),
        (("--strategy", "rsi_mean_reversion"), "--symbol is required with --strategy or --spec"),
    ],
)
def test_trader_backtest_errors_say_what_is_wrong(trader, args, message) -> None:
    with pytest.raises(CommandError) as caught:
        run_backtest_command(*args)
    assert message in str(caught.value)


def test_a_trader_without_a_strategy_cannot_be_backtested(trader) -> None:
    trader.strategy = None
    trader.save(update_fields=["strategy"])
    with pytest.raises(CommandError, match="trader 'desk' has no strategy: set one on its page first"):
        run_backtest_command("--trader", "desk")


# --- trader_dry_run -------------------------------------------------------------------------------


def test_the_dry_run_prints_an_aligned_row_per_decision_with_every_input(trader) -> None:
    lines = dry_run("--trader", "desk", "--last", "5").splitlines()

    assert lines[0] == f"Dry run of trader desk on {SYMBOL} 1h: 5 decisions, nothing sent."
    header, rows = lines[1], lines[2:]
    assert header.split() == ["time", "price", "rsi_14", "sentiment", "signal", "decision", "outcome", "reason"]
    times = [ms_to_datetime(int(t)) for t in stored_series().open_time_ms[-5:]]
    assert [row[:16] for row in rows] == [f"{moment:%Y-%m-%d %H:%M}" for moment in times]
    reason_column = header.index("reason")
    for row in rows:
        cells = row.split()
        assert cells[4] == "missing"  # sentiment: no news source yet
        assert len(cells[2].split(".")[-1]) == 1  # the price at the market's 0.1 tick
        assert "sentiment missing" in row[reason_column:]  # the reason names every value the rule read
    assert not TradePlan.objects.exists() and not PaperOrder.objects.exists() and not DecisionLog.objects.exists()


def test_the_dry_run_as_json_gives_one_object_per_decision(trader) -> None:
    rows = [json.loads(line) for line in dry_run("--trader", "desk", "--last", "3", "--json").splitlines()]
    assert len(rows) == 3
    assert set(rows[0]) == {"time", "price", "rsi_14", "sentiment", "signal", "decision", "outcome", "reason"}
    assert {row["sentiment"] for row in rows} == {"missing"}
    assert all(row["decision"] in ("enter_long", "enter_short", "exit", "hold") for row in rows)


def test_the_dry_run_over_a_period_decides_on_each_of_its_candles(trader) -> None:
    first = ms_to_datetime(int(stored_series().open_time_ms[0]))
    output = dry_run("--trader", "desk", "--from", f"{first:%Y-%m-%d}", "--to", f"{first:%Y-%m-%d}")
    assert output.splitlines()[0].endswith(": 24 decisions, nothing sent.")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--trader", "nobody"), "no trader named 'nobody' (known: desk)"),
        (("--trader", "desk", "--last", "0"), "--last must be at least 1, not 0"),
        (("--trader", "desk", "--last", "3", "--to", "2030-01-01"), "--last counts back from the newest candle"),
        (("--trader", "desk", "--from", "2030-01-01"), f"no 1h candles for {SYMBOL} on binanceusdm from 2030-01-01"),
    ],
)
def test_dry_run_errors_say_what_is_wrong(trader, args, message) -> None:
    with pytest.raises(CommandError) as caught:
        dry_run(*args)
    assert message in str(caught.value)
