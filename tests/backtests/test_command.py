"""`manage.py backtest` end to end on candles stored in the database."""

from __future__ import annotations

import copy
import csv
import io
import json
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError

from apps.backtests.engine import EXIT_REASONS, BacktestParams, run_backtest
from apps.backtests.metrics import compute_metrics
from apps.backtests.models import BacktestRun
from apps.market.arrays import CandleArrays
from apps.strategies.presets import preset_spec, preset_spec_data
from tests.backtests.conftest import BARS, SYMBOL, as_columns, run_backtest_command, stored_series
from tests.strategies.factories import StrategyFactory

pytestmark = pytest.mark.django_db

RSI = ("--strategy", "rsi_mean_reversion", "--symbol", SYMBOL, "--timeframe", "1h")


def read_csv(path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_preset_run_writes_every_file_and_records_the_run(market, tmp_path) -> None:
    out = tmp_path / "run"
    output = run_backtest_command(*RSI, "--sl-pct", "2", "--tp-pct", "3", "--fee-bps", "5", out=out)

    run = BacktestRun.objects.get()
    assert f"BacktestRun #{run.pk}" in output
    assert "Sharpe" in output
    assert (run.strategy_name, run.strategy_source, run.strategy, run.strategy_version) == (
        "rsi_mean_reversion",
        "preset",
        None,
        None,
    )
    assert (run.market, run.exchange, run.symbol, run.timeframe, run.bars) == (
        market,
        "binanceusdm",
        SYMBOL,
        "1h",
        BARS,
    )
    assert run.period_start == datetime(2024, 1, 1, tzinfo=UTC)
    assert run.period_end == datetime(2024, 1, 25, 23, tzinfo=UTC)  # 600 hourly bars
    assert (run.initial_cash, run.fee_bps, run.slippage_bps, run.size_pct, run.sl_pct, run.tp_pct) == (
        Decimal("10000"),
        Decimal("5"),
        Decimal("2"),
        Decimal("100"),
        Decimal("2"),
        Decimal("3"),
    )
    assert run.spec == preset_spec("rsi_mean_reversion", timeframe="1h", markets=[SYMBOL]).model_dump(
        mode="json", exclude_none=True
    )
    assert run.created_by is None
    assert run.duration_seconds > 0

    # The files are where the run says, and they agree with an in-memory run over the same series.
    for path in (run.trades_path, run.equity_path, run.metrics_path, run.report_path):
        assert str(out.resolve()) in path
    candles = CandleArrays(*as_columns(stored_series()))
    spec = preset_spec("rsi_mean_reversion", timeframe="1h")
    expected = run_backtest(spec, candles, BacktestParams(fee_bps=5, sl_pct=2, tp_pct=3))
    trades = read_csv(run.trades_path)
    assert len(trades) == len(expected.trades) == run.trade_count >= 3
    assert [float(row["pnl"]) for row in trades] == pytest.approx(expected.trades.pnl.tolist(), rel=1e-12)
    assert {row["exit_reason"] for row in trades} <= set(EXIT_REASONS)
    assert list(trades[0]) == [
        "entry_time",
        "exit_time",
        "side",
        "entry_price",
        "exit_price",
        "quantity",
        "fees",
        "pnl",
        "return_pct",
        "exit_reason",
    ]
    equity = read_csv(run.equity_path)
    assert len(equity) == BARS
    assert equity[0]["time"] == "2024-01-01T00:00:00Z"
    assert float(equity[-1]["equity"]) == pytest.approx(expected.final_equity, abs=1e-6)
    document = json.loads(Path(run.metrics_path).read_text())
    assert document["metrics"] == run.metrics
    assert run.metrics == pytest.approx(compute_metrics(expected, timeframe_ms=3_600_000))
    assert document["parameters"]["sl_pct"] == 2.0
    assert document["parameters"]["fill"] == run.fill == "next_open"
    assert run.sharpe == run.metrics["sharpe"] and run.total_return == run.metrics["total_return"]
    report = Path(run.report_path).read_text()
    assert report.count("<svg") == 3


def test_fill_close_is_recorded_on_the_run_and_fills_at_the_signal_bars_close(market, tmp_path) -> None:
    """--fill close: the run stores it, its trades are the engine's with fill="close" (each entry at
    its signal bar's close), and the report says where signals fill."""
    run_backtest_command(*RSI, "--sl-pct", "2", "--fill", "close", out=tmp_path)

    run = BacktestRun.objects.get()
    assert run.fill == BacktestRun.Fill.CLOSE
    candles = CandleArrays(*as_columns(stored_series()))
    expected = run_backtest(
        preset_spec("rsi_mean_reversion", timeframe="1h"), candles, BacktestParams(sl_pct=2, fill="close")
    )
    trades = read_csv(run.trades_path)
    assert len(trades) == len(expected.trades) >= 3
    assert [float(row["entry_price"]) for row in trades] == pytest.approx(
        (candles.close[expected.trades.entry_bar] * (1 + expected.trades.side * 0.0002)).tolist(), rel=1e-12
    )
    assert [float(row["pnl"]) for row in trades] == pytest.approx(expected.trades.pnl.tolist(), rel=1e-12)
    assert json.loads(Path(run.metrics_path).read_text())["parameters"]["fill"] == "close"
    assert "Signals fill at their own bar's close" in Path(run.report_path).read_text()


def test_a_stored_strategy_keeps_its_name_version_and_link(market, tmp_path) -> None:
    strategy = StrategyFactory(name="My RSI", spec={**preset_spec_data("rsi_mean_reversion"), "cooldown_bars": 2})
    run_backtest_command("--strategy", "My RSI", "--symbol", SYMBOL, out=tmp_path)

    run = BacktestRun.objects.get()
    assert (run.strategy_source, run.strategy, run.strategy_version) == ("stored", strategy, strategy.version)
    assert run.spec["cooldown_bars"] == 2
    assert run.timeframe == "1h"  # the spec's


def test_a_spec_file(market, tmp_path) -> None:
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(preset_spec_data("ema_trend", timeframe="1h")))
    run_backtest_command("--spec", str(path), "--symbol", SYMBOL, out=tmp_path / "out")

    run = BacktestRun.objects.get()
    assert (run.strategy_name, run.strategy_source) == ("mine", "file")


def test_the_period_bounds_are_inclusive(market, tmp_path) -> None:
    """--from 2024-01-02 --to 2024-01-03: every bar of both days, 48 hourly bars."""
    run_backtest_command(*RSI, "--from", "2024-01-02", "--to", "2024-01-03", out=tmp_path)

    run = BacktestRun.objects.get()
    assert run.bars == 48
    assert (run.period_start, run.period_end) == (
        datetime(2024, 1, 2, tzinfo=UTC),
        datetime(2024, 1, 3, 23, tzinfo=UTC),
    )


def test_a_time_bound_includes_the_bar_opening_then(market, tmp_path) -> None:
    run_backtest_command(*RSI, "--from", "2024-01-02T05:00", "--to", "2024-01-02T10:00", out=tmp_path)
    assert BacktestRun.objects.get().bars == 6


def test_the_default_out_directory_is_under_var(market, tmp_path, monkeypatch) -> None:
    from apps.backtests import services

    monkeypatch.setattr(services, "DEFAULT_OUT_ROOT", tmp_path / "var" / "backtests")
    run_backtest_command(*RSI)
    run_backtest_command(*RSI)

    first, second = BacktestRun.objects.order_by("id")
    assert first.output_dir.startswith(str(tmp_path / "var" / "backtests"))
    assert "rsi_mean_reversion" in first.output_dir
    assert first.output_dir != second.output_dir


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--strategy", "nope", "--symbol", SYMBOL), "unknown strategy 'nope': not a preset (bollinger_breakout"),
        (("--strategy", "rsi_mean_reversion", "--symbol", "ETH/USDT:USDT"), "no market ETH/USDT:USDT on binanceusdm"),
        ((*RSI[:4], "--timeframe", "5m"), "fewer than 2 5m candles for BTC/USDT:USDT on binanceusdm (stored: 1h: 600"),
        ((*RSI, "--from", "2030-01-01"), "fewer than 2 1h candles"),
        ((*RSI, "--fee-bps", "-1"), "fee-bps must be between 0 and 1000"),
        ((*RSI, "--size-pct", "0"), "size-pct must be in (0, 100]"),
        ((*RSI, "--size-pct", "101"), "size-pct must be in (0, 100]"),
        (
            (*RSI, "--sl-pct", "0", "--slippage-bps", "-2"),
            "slippage-bps must be between 0 and 1000 basis points, not -2",
        ),
        ((*RSI, "--cash", "0"), "cash must be a positive amount"),
        ((*RSI, "--from", "2024-02-01", "--to", "2024-01-01"), "--to (2024-01-01) is before --from (2024-02-01)"),
        ((*RSI, "--from", "yesterday"), "'yesterday' is not a date"),
        ((*RSI, "--fee-bps", "four"), "invalid float value: 'four'"),
        ((*RSI, "--fill", "open"), "argument --fill: invalid choice: 'open'"),
    ],
)
def test_clear_errors(market, tmp_path, args, message) -> None:
    with pytest.raises(CommandError) as caught:
        run_backtest_command(*args, out=tmp_path)
    assert message in str(caught.value)
    assert not BacktestRun.objects.exists()


def test_bad_numbers_are_all_listed(market, tmp_path) -> None:
    with pytest.raises(CommandError) as caught:
        run_backtest_command(*RSI, "--sl-pct", "0", "--slippage-bps", "-2", out=tmp_path)
    assert "sl-pct must be in (0, 100), not 0" in str(caught.value)
    assert "slippage-bps" in str(caught.value)


def test_an_invalid_spec_file_lists_every_error_with_its_path(market, tmp_path) -> None:
    # A deep copy: preset_spec_data shares its nested dicts with the PRESETS constant.
    spec = copy.deepcopy(preset_spec_data("ema_trend"))
    spec["entry"] = {"long": {"left": "ema_51", "op": ">", "right": "ema_200"}}
    spec["indicators"][0]["period"] = 0
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(spec))

    with pytest.raises(CommandError) as caught:
        run_backtest_command("--spec", str(path), "--symbol", SYMBOL, out=tmp_path)
    assert "the spec in bad.json is invalid" in str(caught.value)
    assert "indicators[0].period: must be at least 1" in str(caught.value)


def test_a_spec_file_that_is_not_json_or_missing(market, tmp_path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{nope")
    with pytest.raises(CommandError, match="broken.json is not JSON"):
        run_backtest_command("--spec", str(path), "--symbol", SYMBOL)
    with pytest.raises(CommandError, match="is not a file"):
        run_backtest_command("--spec", str(tmp_path / "absent.json"), "--symbol", SYMBOL)


def test_strategy_and_spec_exclude_each_other(market, tmp_path) -> None:
    with pytest.raises(CommandError, match="not allowed with argument"):
        run_backtest_command("--strategy", "x", "--spec", "y.json", "--symbol", SYMBOL)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_sees_the_phases_on_stderr_and_stdout_stays_the_summary(market, tmp_path, monkeypatch) -> None:
    from apps.backtests.management.commands import backtest

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(backtest, "BAR_DELAY_SECONDS", 0)  # a run here is quicker than the real one-second delay

    output = run_backtest_command(*RSI, out=tmp_path)

    shown = terminal.getvalue()
    # Loading starts at 0 %, which only the ticker draws once a slow read has taken its second.
    for phase in ("Computing signals:  40%", "Simulating:  60%", "Writing reports:  80%", "done: 100%"):
        assert phase in shown
    assert "%|" not in output and output.startswith("rsi_mean_reversion (preset)")


def test_no_bar_when_stderr_is_not_a_terminal(market, tmp_path, capsys, monkeypatch) -> None:
    from apps.backtests.management.commands import backtest

    monkeypatch.setattr(backtest, "BAR_DELAY_SECONDS", 0)
    run_backtest_command(*RSI, out=tmp_path)
    assert capsys.readouterr().err == ""
