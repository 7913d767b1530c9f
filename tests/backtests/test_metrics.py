"""Metrics on a tiny equity curve worked by hand, and cross-checks against pandas."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from apps.backtests.engine import END_OPEN, EXIT, LONG, SHORT, SIGNAL, STOP_LOSS, BacktestResult, Trades, simulate
from apps.backtests.metrics import YEAR_MS, compute_metrics, drawdown, format_metric
from tests.backtests.helpers import bars, codes, flat, params, synthetic

approx = pytest.approx
QUARTER_MS = YEAR_MS // 4  # 4 bars per year: the tiny curve below spans exactly one year


def tiny_result(step: int = QUARTER_MS) -> BacktestResult:
    """E0 = 100, equity at the closes [110, 99, 121, 121]; held during bars 0, 1 and 3.
    Trades: closed pnls +30, −10, +5, −5 and one still open (+100); fees 1 + 1 + 1 + 1 + 0.5."""
    candles = bars(flat(1), flat(1), flat(1), flat(1), step=step)
    pnl = np.array([30.0, -10.0, 5.0, -5.0, 100.0])
    trades = Trades(
        entry_bar=np.array([0, 0, 1, 2, 3]),
        exit_bar=np.array([0, 1, 2, 3, 3]),
        side=np.array([1, -1, 1, 1, 1], dtype=np.int8),
        entry_price=np.ones(5),
        exit_price=np.ones(5),
        quantity=np.ones(5),
        fees=np.array([1.0, 1.0, 1.0, 1.0, 0.5]),
        pnl=pnl,
        reason=np.array([SIGNAL, STOP_LOSS, SIGNAL, SIGNAL, END_OPEN], dtype=np.int8),
    )
    return BacktestResult(
        candles=candles,
        params=params(cash=100.0),
        signal_codes=np.zeros(4, dtype=np.int8),
        trades=trades,
        equity=np.array([110.0, 99.0, 121.0, 121.0]),
        in_position=np.array([True, True, False, True]),
    )


def test_every_metric_of_the_tiny_curve() -> None:
    """Returns r = [110/100 − 1, 99/110 − 1, 121/99 − 1, 0] = [1/10, −1/10, 2/9, 0], mean m = 1/18.
    Deviations from m, in 45ths: 2, −7, 7.5, −2.5; squares 4 + 49 + 56.25 + 6.25 = 115.5, so the
    sample variance (ddof 1) is 115.5 / 2025 / 3 and std = sqrt(115.5 / 6075) = 0.137885...
    4 bars per year: Sharpe = (1/18) / std × sqrt(4) = 0.805823...
    Downside deviation = sqrt((0 + 0.01 + 0 + 0) / 4) = 0.05: Sortino = (1/18) / 0.05 × 2 = 2.2222...
    Peaks including E0: 110, 110, 121, 121 -> drawdowns 0, −0.1, 0, 0: max drawdown −0.1.
    The 4 bars span one year, total return 121/100 − 1 = 0.21, so CAGR = 1.21 ** 1 − 1 = 0.21.
    Closed trades +30, −10, +5, −5: win rate 2/4; profit factor (30 + 5) / (10 + 5) = 7/3.
    Exposure 3 of 4 bars; 5 trades (one open); fees 4.5.
    """
    metrics = compute_metrics(tiny_result(), timeframe_ms=QUARTER_MS)

    std = math.sqrt(115.5 / 6075)
    assert metrics == approx(
        {
            "total_return": 0.21,
            "cagr": 0.21,
            "max_drawdown": -0.1,
            "sharpe": (1 / 18) / std * 2,
            "sortino": (1 / 18) / 0.05 * 2,
            "win_rate": 0.5,
            "profit_factor": 7 / 3,
            "exposure": 0.75,
            "trade_count": 5,
            "closed_trades": 4,
            "open_trade": True,
            "fees_paid": 4.5,
            "final_equity": 121.0,
            "initial_cash": 100.0,
            "bars": 4,
            "years": 1.0,
            "bars_per_year": 4.0,
        }
    )
    assert metrics["sharpe"] == approx(0.805823, abs=1e-6)


def test_cagr_compounds_over_the_years_spanned() -> None:
    """Four bars of half a year each span 2 years: total return 0.21 -> CAGR = 1.21 ** (1/2) − 1 = 0.1."""
    metrics = compute_metrics(tiny_result(YEAR_MS // 2), timeframe_ms=YEAR_MS // 2)
    assert metrics["years"] == approx(2.0)
    assert metrics["cagr"] == approx(0.1)


def test_drawdown_series_counts_the_initial_cash_as_a_peak() -> None:
    """E0 = 100 and a first close at 90 is already a 10 % drawdown."""
    assert drawdown(np.array([90.0, 100.0, 120.0, 96.0]), 100.0).tolist() == approx([-0.1, 0.0, 0.0, -0.2])


def test_undefined_metrics_are_none() -> None:
    """No trades, flat equity: no variation, no downside, no closed trades."""
    candles = bars(flat(100), flat(100), flat(100))
    metrics = compute_metrics(simulate(candles, codes(3, {}), params()), timeframe_ms=3_600_000)

    assert metrics["sharpe"] is None
    assert metrics["sortino"] is None
    assert metrics["win_rate"] is None
    assert metrics["profit_factor"] is None
    assert (metrics["total_return"], metrics["max_drawdown"], metrics["trade_count"]) == (0.0, 0.0, 0)


def test_profit_factor_without_a_losing_trade_is_none() -> None:
    """One winning closed trade (buy 100, sell 110): win rate 1, profit factor infinite -> None."""
    candles = bars(flat(100), flat(100), flat(110), flat(110))
    metrics = compute_metrics(simulate(candles, codes(4, {0: LONG, 1: EXIT}), params()), timeframe_ms=3_600_000)

    assert metrics["win_rate"] == 1.0
    assert metrics["profit_factor"] is None


def test_sharpe_and_max_drawdown_agree_with_pandas() -> None:
    """An independent computation: pandas' pct_change, std (ddof 1) and cummax."""
    candles = synthetic(5000, seed=11)
    rng = np.random.default_rng(5)
    signal = rng.choice([0, LONG, SHORT, EXIT], size=5000, p=[0.9, 0.04, 0.03, 0.03]).astype(np.int8)
    result = simulate(candles, signal, params(fee_bps=4, slippage_bps=2, sl_pct=3))
    metrics = compute_metrics(result, timeframe_ms=3_600_000)

    curve = pd.Series(np.concatenate(([10_000.0], result.equity)))
    returns = curve.pct_change().dropna()
    assert metrics["sharpe"] == approx(returns.mean() / returns.std() * math.sqrt(365 * 24), rel=1e-9)
    assert metrics["max_drawdown"] == approx((curve / curve.cummax() - 1).min(), rel=1e-12)
    downside = math.sqrt((returns.clip(upper=0) ** 2).mean())
    assert metrics["sortino"] == approx(returns.mean() / downside * math.sqrt(365 * 24), rel=1e-9)
    assert metrics["exposure"] == approx(result.in_position.mean())


def test_format_metric() -> None:
    assert format_metric("total_return", 0.1234) == "12.34 %"
    assert format_metric("sharpe", 1.23456) == "1.235"
    assert format_metric("trade_count", 1234) == "1,234"
    assert format_metric("fees_paid", 1234.5) == "1,234.50"
    assert format_metric("profit_factor", None) == "—"
