from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from django.db.models import F, Q, QuerySet

from apps.backtests.charts import minmax_indexes
from apps.backtests.models import BacktestRun
from apps.market.models import Candle, Market
from apps.strategies.models import Strategy
from apps.strategies.spec import StrategySpec

ORDERINGS = (
    "-created_at",
    "created_at",
    "-total_return",
    "total_return",
    "-sharpe",
    "sharpe",
    "-max_drawdown",
    "max_drawdown",
    "-trade_count",
    "trade_count",
    "strategy_name",
    "-strategy_name",
)
OUTPUT_KINDS = {
    "report": "HTML report",
    "trades": "Trades (CSV)",
    "equity": "Equity curve (CSV)",
    "metrics": "Metrics (JSON)",
}


def backtest_run_list(
    *,
    search: str | None = None,
    timeframe: str | None = None,
    exchange: str | None = None,
    source: str | None = None,
    ordering: str = "-created_at",
) -> QuerySet[BacktestRun]:
    runs = BacktestRun.objects.select_related("created_by")
    if search:
        runs = runs.filter(Q(strategy_name__icontains=search) | Q(symbol__icontains=search))
    if timeframe:
        runs = runs.filter(timeframe=timeframe)
    if exchange:
        runs = runs.filter(exchange=exchange)
    if source:
        runs = runs.filter(strategy_source=source)
    primary = ordering if ordering in ORDERINGS else "-created_at"
    # Undefined metrics (None) go last either way, and the id keeps pages stable on ties.
    column = F(primary.lstrip("-"))
    order = column.desc(nulls_last=True) if primary.startswith("-") else column.asc(nulls_last=True)
    return runs.order_by(order, "-id")


def backtest_run_get(*, pk: int) -> BacktestRun | None:
    return BacktestRun.objects.select_related("created_by", "market", "strategy").filter(pk=pk).first()


@dataclass(frozen=True)
class OutputFile:
    kind: str
    label: str
    name: str
    available: bool


def backtest_run_files(*, run: BacktestRun) -> list[OutputFile]:
    """The run's stored output paths, and whether each file is still on disk."""
    files = []
    for kind, label in OUTPUT_KINDS.items():
        path = Path(run.output_path(kind))
        files.append(OutputFile(kind=kind, label=label, name=path.name, available=path.is_file()))
    return files


def strategy_by_name(*, name: str) -> Strategy | None:
    return Strategy.objects.filter(name=name).first()


def candle_count(*, market: Market, timeframe: str, start: datetime | None, end: datetime | None) -> int:
    """Stored candles in [start, end): checked before a run is stored, so a period without data
    is refused on the form instead of failing in the worker."""
    candles = Candle.objects.filter(market=market, timeframe=timeframe)
    if start is not None:
        candles = candles.filter(open_time__gte=start)
    if end is not None:
        candles = candles.filter(open_time__lt=end)
    return candles.count()


def spec_markets(*, spec: StrategySpec) -> list[Market]:
    """The stored markets a backtest of a strategy may use: those its spec names."""
    return list(Market.objects.filter(symbol__in=spec.markets).order_by("symbol", "exchange"))


@dataclass(frozen=True)
class EquitySeries:
    """A run's equity curve as a chart draws it: at most about 2 x `max_points` points."""

    time_ms: np.ndarray  # open time of the bar at whose close the equity was measured
    equity: np.ndarray
    drawdown: np.ndarray  # fraction below the running peak, <= 0
    total_points: int  # rows in the file, before downsampling


def backtest_equity(*, run: BacktestRun, max_points: int) -> EquitySeries | None:
    """The run's equity curve from its equity CSV, downsampled like the report's charts (each bucket's
    lowest and highest equity and drawdown, so troughs survive); None when the file is gone."""
    path = Path(run.output_path("equity")) if run.equity_path else None
    if path is None or not path.is_file():
        return None
    # Imported here: only this read needs pandas (its C parser reads a year of 1m rows in a blink).
    import pandas as pd

    frame = pd.read_csv(path, dtype={"equity": "float64", "drawdown": "float64"})
    times = pd.to_datetime(frame["time"], utc=True).to_numpy(dtype="datetime64[ms]").astype(np.int64)
    equity, drawdown = frame["equity"].to_numpy(), frame["drawdown"].to_numpy()
    keep = np.union1d(minmax_indexes(equity, max_points), minmax_indexes(drawdown, max_points))
    return EquitySeries(time_ms=times[keep], equity=equity[keep], drawdown=drawdown[keep], total_points=len(equity))
