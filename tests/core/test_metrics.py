"""The metric functions shared by backtests and live PnL, against hand-worked examples and pandas."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from apps.backtests import metrics as backtest_metrics
from apps.core import metrics

approx = pytest.approx


def test_drawdown_by_hand() -> None:
    """Equity 100, 110, 99, 121, 88: peaks 100, 110, 110, 121, 121 -> 0, 0, 99/110 − 1 = −0.1, 0, 88/121 − 1."""
    series = metrics.drawdown([100, 110, 99, 121, 88])
    assert series.tolist() == approx([0.0, 0.0, -0.1, 0.0, 88 / 121 - 1])
    assert metrics.max_drawdown([100, 110, 99, 121, 88]) == approx(-33 / 121)


def test_drawdown_counts_the_initial_equity_as_a_peak_and_takes_decimals() -> None:
    assert metrics.drawdown([Decimal(90), Decimal(100)], Decimal(100)).tolist() == approx([-0.1, 0.0])
    assert metrics.max_drawdown([]) == 0.0


def test_win_rate_and_profit_factor_by_hand() -> None:
    """+30, −10, +5, −5: 2 wins of 4; profit factor (30 + 5) / (10 + 5) = 7/3."""
    pnl = [Decimal(30), Decimal(-10), Decimal(5), Decimal(-5)]
    assert metrics.win_rate(pnl) == 0.5
    assert metrics.profit_factor(pnl) == approx(7 / 3)


def test_undefined_trade_statistics_are_none() -> None:
    assert metrics.win_rate([]) is None
    assert metrics.profit_factor([]) is None
    assert metrics.profit_factor([1.0, 2.0]) is None  # no loss: infinite
    assert metrics.win_rate([0.0, -1.0]) == 0.0  # a flat trade is not a win


def test_drawdown_agrees_with_pandas_cummax() -> None:
    """An independent computation: pandas' cummax over a random walk."""
    curve = 10_000 * np.cumprod(1 + np.random.default_rng(3).normal(0, 0.01, 2_000))
    expected = pd.Series(curve) / pd.Series(curve).cummax() - 1
    assert metrics.drawdown(curve).tolist() == approx(expected.tolist(), abs=1e-12)


def test_backtests_use_the_same_functions() -> None:
    """One definition: the backtest metrics module applies these, it does not redefine them."""
    assert backtest_metrics.drawdown is metrics.drawdown
    assert backtest_metrics.win_rate is metrics.win_rate
    assert backtest_metrics.profit_factor is metrics.profit_factor
    assert backtest_metrics.sharpe_ratio is metrics.sharpe_ratio
