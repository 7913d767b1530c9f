"""Parameter sweeps: keys, the product, the worker pool, sorting, and the command's table."""

from __future__ import annotations

import csv

import pytest
from django.core.management import CommandError

from apps.backtests import grid
from apps.backtests.engine import BacktestParams, run_backtest
from apps.backtests.metrics import compute_metrics
from apps.backtests.models import BacktestRun
from apps.strategies.presets import preset_spec
from tests.backtests.conftest import SYMBOL, run_backtest_command
from tests.backtests.helpers import synthetic

RSI = preset_spec("rsi_mean_reversion")


def test_valid_keys_name_options_indicator_parameters_and_thresholds() -> None:
    assert grid.valid_keys(RSI) == [
        "sl_pct",
        "tp_pct",
        "size_pct",
        "fee_bps",
        "slippage_bps",
        "cooldown_bars",
        "rsi_14.period",
        "rsi_14.lower",
        "rsi_14.upper",
    ]
    bollinger = grid.valid_keys(preset_spec("bollinger_breakout"))
    assert {"bb_20.period", "bb_20.k"} <= set(bollinger)
    # close crosses_above bb_20.upper compares two series: no numeric threshold to sweep.
    assert not any(key.startswith("close.") for key in bollinger)
    assert {"ema_50.period", "ema_200.period"} <= set(grid.valid_keys(preset_spec("ema_trend")))


def test_parse_grid_and_the_product() -> None:
    axes = grid.parse_grid(["rsi_14.lower=20,25,30", "sl_pct=1,2.5"], RSI)

    assert axes == {"rsi_14.lower": [20, 25, 30], "sl_pct": [1, 2.5]}
    combos = grid.combinations(axes)
    assert len(combos) == 6
    assert combos[0] == {"rsi_14.lower": 20, "sl_pct": 1}
    assert combos[-1] == {"rsi_14.lower": 30, "sl_pct": 2.5}


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (["rsi_99.lower=1,2"], "unknown grid key 'rsi_99.lower'; valid keys for this strategy: sl_pct, tp_pct"),
        (["sl_pct"], "write KEY=V1,V2"),
        (["sl_pct=a,b"], "sl_pct: the values must be numbers"),
        (["sl_pct=1,1"], "a value is repeated"),
        (["sl_pct=1", "sl_pct=2"], "given twice"),
        ([], "an empty grid"),
    ],
)
def test_parse_grid_errors(items, message) -> None:
    with pytest.raises(grid.GridError, match=message.replace("(", r"\(").replace(")", r"\)")):
        grid.parse_grid(items, RSI)


def test_apply_sets_the_threshold_of_its_side_only() -> None:
    """rsi_14.lower is the 30 of `rsi_14 < 30` (entry); the exit's `rsi_14 > 70` keeps 70."""
    spec, params = grid.apply(RSI, BacktestParams(), {"rsi_14.lower": 20, "rsi_14.period": 7, "sl_pct": 1.5})

    assert spec.entry.long.right == 20
    assert spec.exit.long.right == 70
    assert spec.indicators[0].period == 7
    assert params.sl_pct == 1.5
    spec, _ = grid.apply(RSI, BacktestParams(), {"rsi_14.upper": 80})
    assert (spec.entry.long.right, spec.exit.long.right) == (30, 80)


def test_apply_refuses_values_the_spec_or_the_options_refuse() -> None:
    with pytest.raises(grid.GridError, match=r"rsi_14.period=1: indicators\[0\].period"):
        grid.apply(RSI, BacktestParams(), {"rsi_14.period": 1})
    with pytest.raises(grid.GridError, match="size_pct=120: size-pct must be in"):
        grid.apply(RSI, BacktestParams(), {"size_pct": 120})


def test_run_grid_on_worker_processes_equals_single_runs() -> None:
    candles = synthetic(3000, seed=9)
    axes = grid.parse_grid(["rsi_14.lower=25,35", "sl_pct=1,2", "tp_pct=2,4"], RSI)
    seen = []

    rows = grid.run_grid(
        spec=RSI,
        candles=candles,
        params=BacktestParams(),
        axes=axes,
        timeframe_ms=3_600_000,
        processes=2,
        progress=seen.append,
    )

    assert len(rows) == 8 and sum(seen) == 8
    for row in rows:
        spec, params = grid.apply(RSI, BacktestParams(), row.values)
        expected = compute_metrics(run_backtest(spec, candles, params), timeframe_ms=3_600_000)
        assert row.metrics == pytest.approx(expected)
    assert len({row.metrics["trade_count"] for row in rows}) > 1


def test_sort_rows_best_first_and_undefined_last() -> None:
    rows = [grid.GridRow({"x": i}, {"sharpe": value, "fees_paid": i}) for i, value in enumerate([0.5, None, 2.0, -1.0])]

    assert [row.values["x"] for row in grid.sort_rows(rows, "sharpe")] == [2, 0, 3, 1]
    assert [row.values["x"] for row in grid.sort_rows(rows, "fees_paid")] == [0, 1, 2, 3]
    with pytest.raises(grid.GridError, match="unknown metric"):
        grid.sort_rows(rows, "luck")


@pytest.mark.django_db
def test_the_grid_command_prints_a_sorted_table_and_stores_no_run(market, tmp_path) -> None:
    output = run_backtest_command(
        "--strategy",
        "rsi_mean_reversion",
        "--symbol",
        SYMBOL,
        "--grid",
        "rsi_14.lower=25,30,35",
        "sl_pct=1,2",
        "--sort-by",
        "total_return",
        "--processes",
        "2",
        out=tmp_path,
    )

    assert "6 combinations over 600 bars on 2 processes" in output
    assert "sorted by total_return, best first" in output
    lines = output.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["rsi_14.lower", "sl_pct"])
    table = lines[header + 1 : header + 7]
    returns = [float(line.split()[2]) for line in table]  # "12.34 %" -> the number before "%"
    assert returns == sorted(returns, reverse=True)
    with open(tmp_path / "grid.csv", newline="") as handle:
        written = list(csv.DictReader(handle))
    assert len(written) == 6
    assert [float(row["total_return"]) for row in written] == sorted(
        (float(row["total_return"]) for row in written), reverse=True
    )
    assert not BacktestRun.objects.exists()


@pytest.mark.django_db
def test_the_grid_command_names_the_valid_keys(market) -> None:
    with pytest.raises(CommandError) as caught:
        run_backtest_command("--strategy", "rsi_mean_reversion", "--symbol", SYMBOL, "--grid", "rsi.lower=1,2")
    assert "unknown grid key 'rsi.lower'" in str(caught.value)
    assert "rsi_14.lower, rsi_14.upper" in str(caught.value)
