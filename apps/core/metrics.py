"""Performance metrics shared by backtests and live PnL (pure; no Django, no domain app).

One definition of each figure, so a backtest's report and the desk's PnL page can be compared:

- drawdown[i]    = E[i] / max(initial, E[0..i]) - 1 (<= 0); without `initial` the peak is max(E[0..i])
- max_drawdown   = min(drawdown), 0 for an empty curve (a negative fraction otherwise)
- per-bar return r[i] = E[i] / E[i-1] - 1 with E[-1] = initial
- sharpe         = mean(r) / std(r, ddof=1) × sqrt(periods_per_year)       (risk-free rate 0)
- sortino        = mean(r) / sqrt(mean(min(r, 0)²)) × sqrt(periods_per_year)  (target 0)
- cagr           = (final / initial) ** (1 / years) - 1; -1 when the final equity is <= 0
- win_rate       = closed trades with pnl > 0 / closed trades
- profit_factor  = sum of winning trades' pnl / |sum of losing trades' pnl|

A metric that is undefined is None: Sharpe or Sortino without variation (or downside), win rate
and profit factor without closed trades, profit factor without a losing trade (it would be infinite).
Inputs may be floats, Decimals or numpy arrays; the results are floats.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from decimal import Decimal

import numpy as np

Numbers = Iterable[float | Decimal] | np.ndarray


def _array(values: Numbers) -> np.ndarray:
    return values.astype(float, copy=False) if isinstance(values, np.ndarray) else np.array(list(values), dtype=float)


def drawdown(equity: Numbers, initial: float | Decimal | None = None) -> np.ndarray:
    """Each point's fall from the highest equity so far (the initial equity counts as a peak)."""
    curve = _array(equity)
    if not len(curve):
        return curve
    highs = curve if initial is None else np.maximum(curve, float(initial))
    return curve / np.maximum.accumulate(highs) - 1.0


def max_drawdown(equity: Numbers, initial: float | Decimal | None = None) -> float:
    series = drawdown(equity, initial)
    return float(series.min()) if len(series) else 0.0


def per_bar_returns(equity: np.ndarray, initial: float) -> np.ndarray:
    previous = np.empty_like(equity)
    if len(equity):
        previous[0] = initial
        previous[1:] = equity[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        return equity / previous - 1.0


def sharpe_ratio(returns: np.ndarray, periods_per_year: float) -> float | None:
    if len(returns) < 2:
        return None
    deviation = float(np.std(returns, ddof=1))
    if not deviation > 0:
        return None
    return float(np.mean(returns)) / deviation * math.sqrt(periods_per_year)


def sortino_ratio(returns: np.ndarray, periods_per_year: float) -> float | None:
    if len(returns) == 0:
        return None
    downside = math.sqrt(float(np.mean(np.minimum(returns, 0.0) ** 2)))
    if not downside > 0:
        return None
    return float(np.mean(returns)) / downside * math.sqrt(periods_per_year)


def cagr(final: float, initial: float, years: float) -> float | None:
    if years <= 0:
        return None
    if final <= 0:
        return -1.0
    return (final / initial) ** (1.0 / years) - 1.0


def win_rate(closed_pnl: Numbers) -> float | None:
    pnl = _array(closed_pnl)
    return float(np.count_nonzero(pnl > 0)) / len(pnl) if len(pnl) else None


def profit_factor(closed_pnl: Numbers) -> float | None:
    pnl = _array(closed_pnl)
    gross_loss = -float(pnl[pnl < 0].sum())
    return float(pnl[pnl > 0].sum()) / gross_loss if gross_loss > 0 else None
