"""Performance metrics of a backtest (pure; no Django). The formulas are apps.core.metrics', shared
with the live PnL (apps.traders.pnl_selectors); this module applies them to a BacktestResult.

Notation: E0 is the initial cash, E[i] the equity at the close of bar i (i = 0..n-1), and
r[i] = E[i] / E[i-1] - 1 the per-bar return with E[-1] = E0, so there are n returns.
A year is 365 days (crypto trades every day): bars_per_year = 365 × 86,400,000 ms / timeframe ms.

- total_return  = E[n-1] / E0 - 1
- cagr          = (E[n-1] / E0) ** (1 / years) - 1, years = (last open + timeframe - first open) / 1 year;
                  -1 when the final equity is <= 0
- drawdown[i]   = E[i] / max(E0, E[0..i]) - 1 (<= 0); max_drawdown = min(drawdown) (a negative fraction)
- sharpe        = mean(r) / std(r, ddof=1) × sqrt(bars_per_year)       (risk-free rate 0)
- sortino       = mean(r) / sqrt(mean(min(r, 0)²)) × sqrt(bars_per_year)  (target 0, all n returns)
- win_rate      = closed trades with pnl > 0 / closed trades
- profit_factor = sum of winning closed trades' pnl / |sum of losing closed trades' pnl|
- exposure      = bars during which a position was held / n
- trade_count   = trades including one still open at the end; fees_paid = every fee paid

A metric that is undefined is None: Sharpe or Sortino without variation (or downside), win rate
and profit factor without closed trades, profit factor without a losing trade (it would be
infinite). "Closed" leaves out the `end_open` trade, which has no exit.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from apps.backtests.engine import END_OPEN, BacktestResult
from apps.core.metrics import (
    cagr,
    drawdown,
    per_bar_returns,
    profit_factor,
    sharpe_ratio,
    sortino_ratio,
    win_rate,
)

YEAR_MS = 365 * 86_400_000
# What a metric is called in tables, and how to show it; the order is the table's.
METRICS: dict[str, tuple[str, str]] = {
    "total_return": ("Total return", "pct"),
    "cagr": ("CAGR", "pct"),
    "max_drawdown": ("Max drawdown", "pct"),
    "sharpe": ("Sharpe", "ratio"),
    "sortino": ("Sortino", "ratio"),
    "win_rate": ("Win rate", "pct"),
    "profit_factor": ("Profit factor", "ratio"),
    "exposure": ("Exposure", "pct"),
    "trade_count": ("Trades", "int"),
    "fees_paid": ("Fees paid", "money"),
    "final_equity": ("Final equity", "money"),
}
# For sorting grid results: every other metric is better when higher.
LOWER_IS_BETTER = frozenset({"fees_paid"})


def bars_per_year(timeframe_ms: int) -> float:
    return YEAR_MS / timeframe_ms


def compute_metrics(result: BacktestResult, *, timeframe_ms: int) -> dict[str, Any]:
    initial = result.params.cash
    equity = result.equity
    bars = len(equity)
    final = float(equity[-1]) if bars else initial
    returns = per_bar_returns(equity, initial)
    per_year = bars_per_year(timeframe_ms)
    open_time = result.candles.open_time
    years = (int(open_time[-1]) + timeframe_ms - int(open_time[0])) / YEAR_MS if bars else 0.0

    trades = result.trades
    closed = trades.reason != END_OPEN
    closed_pnl = trades.pnl[closed]
    return {
        "total_return": final / initial - 1.0,
        "cagr": cagr(final, initial, years),
        "max_drawdown": float(drawdown(equity, initial).min()) if bars else 0.0,
        "sharpe": _finite(sharpe_ratio(returns, per_year)),
        "sortino": _finite(sortino_ratio(returns, per_year)),
        "win_rate": win_rate(closed_pnl),
        "profit_factor": profit_factor(closed_pnl),
        "exposure": float(np.count_nonzero(result.in_position)) / bars if bars else 0.0,
        "trade_count": len(trades),
        "closed_trades": int(np.count_nonzero(closed)),
        "open_trade": bool(len(trades) and not closed[-1]),
        "fees_paid": float(trades.fees.sum()),
        "final_equity": final,
        "initial_cash": initial,
        "bars": bars,
        "years": years,
        "bars_per_year": per_year,
    }


def _finite(value: float | None) -> float | None:
    """An equity at or below zero makes returns infinite; such a ratio means nothing."""
    return value if value is not None and math.isfinite(value) else None


def format_metric(name: str, value: Any) -> str:
    """For tables: percentages, ratios and money as a person reads them; None as a dash."""
    if value is None:
        return "—"
    kind = METRICS.get(name, ("", "ratio"))[1]
    if kind == "pct":
        return f"{value * 100:.2f} %"
    if kind == "int":
        return f"{int(value):,}"
    if kind == "money":
        return f"{value:,.2f}"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)
