"""Running a backtest over stored candles and recording it.

Reading candles, simulating and writing the files happen outside any transaction: on SQLite a
transaction holds the write lock (IMMEDIATE mode), which must not wait on a simulation. Only
the BacktestRun insert is atomic.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from apps.backtests import engine, equity_csv
from apps.backtests.engine import BacktestParams, BacktestResult, run_backtest
from apps.backtests.metrics import compute_metrics
from apps.backtests.models import BacktestRun
from apps.backtests.reports import OutputPaths, RunContext, write_outputs
from apps.core.errors import ServiceValidationError
from apps.market import selectors as market_selectors
from apps.market.candles_io import ms_to_datetime
from apps.market.models import Market
from apps.market.timeframes import timeframe_ms
from apps.strategies.models import Strategy
from apps.strategies.spec import StrategySpec

logger = logging.getLogger(__name__)
MIN_BARS = 2
TIME_FORMAT = "%Y-%m-%d %H:%M"


@dataclass(frozen=True)
class BacktestOutcome:
    run: BacktestRun
    result: BacktestResult
    metrics: dict[str, Any]
    paths: OutputPaths


def _decimal(value: float | None) -> Decimal | None:
    # Through str: the operator's "0.1" is stored as 0.1, not as the binary float's expansion.
    return None if value is None else Decimal(str(value))


def _no_candles_message(*, market: Market, timeframe: str, start: datetime | None, end: datetime | None) -> str:
    period = ""
    if start or end:
        period = f" from {start:{TIME_FORMAT}}" if start else ""
        period += f" before {end:{TIME_FORMAT}}" if end else ""
    stored = market_selectors.market_coverage(market_ids=[market.pk]).get(market.pk, [])
    listing = (
        "; ".join(
            f"{c.timeframe}: {c.bars:,} bars {c.first_open_time:{TIME_FORMAT}} to {c.last_open_time:{TIME_FORMAT}}"
            for c in stored
        )
        or "none"
    )
    return (
        f"fewer than {MIN_BARS} {timeframe} candles for {market.symbol} on {market.exchange}{period} "
        f"(stored: {listing}). Import some with manage.py import_candles."
    )


def _warm_up(spec: StrategySpec) -> None:
    """On a thread, while the main one reads candles: it needs no database and no GIL for long
    (LLVM runs in C), so the first run in a process does not pay numba's start-up after the read."""
    try:
        engine.warm_up(spec)
        equity_csv.warm_up()
    except Exception:  # an optimisation only: the run itself reports any real problem
        logger.debug("backtest warm-up failed", exc_info=True)


def backtest_execute(
    *,
    spec: StrategySpec,
    market: Market,
    timeframe: str,
    params: BacktestParams,
    out_dir: Path,
    strategy_name: str,
    strategy_source: str,
    strategy: Strategy | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    created_by: AbstractBaseUser | None = None,
) -> BacktestOutcome:
    """Backtest `spec` over the stored candles in [start, end), write the files, record the run."""
    started = time.perf_counter()
    params = params.validated()
    with ThreadPoolExecutor(max_workers=1) as executor:
        warming = executor.submit(_warm_up, spec)
        candles = market_selectors.candle_arrays(market=market, timeframe=timeframe, start=start, end=end)
        warming.result()
    if len(candles) < MIN_BARS:
        raise ServiceValidationError(
            "candles", _no_candles_message(market=market, timeframe=timeframe, start=start, end=end)
        )
    result = run_backtest(spec, candles, params)
    metrics = compute_metrics(result, timeframe_ms=timeframe_ms(timeframe))
    spec_data = spec.model_dump(mode="json", exclude_none=True)
    context = RunContext(
        strategy_name=strategy_name,
        strategy_source=strategy_source,
        strategy_version=strategy.version if strategy is not None else None,
        exchange=market.exchange,
        symbol=market.symbol,
        timeframe=timeframe,
        spec=spec_data,
    )
    paths = write_outputs(out_dir, result, metrics, context)
    run = backtest_run_record(
        context=context,
        strategy=strategy,
        market=market,
        result=result,
        metrics=metrics,
        paths=paths,
        created_by=created_by,
        duration_seconds=time.perf_counter() - started,
    )
    return BacktestOutcome(run=run, result=result, metrics=metrics, paths=paths)


@transaction.atomic
def backtest_run_record(
    *,
    context: RunContext,
    strategy: Strategy | None,
    market: Market,
    result: BacktestResult,
    metrics: dict[str, Any],
    paths: OutputPaths,
    created_by: AbstractBaseUser | None,
    duration_seconds: float,
) -> BacktestRun:
    times = result.candles.open_time
    params = result.params
    return BacktestRun.objects.create(
        strategy_name=context.strategy_name,
        strategy_source=context.strategy_source,
        strategy=strategy,
        strategy_version=context.strategy_version,
        spec=context.spec,
        market=market,
        exchange=market.exchange,
        symbol=market.symbol,
        timeframe=context.timeframe,
        period_start=ms_to_datetime(int(times[0])),
        period_end=ms_to_datetime(int(times[-1])),
        bars=len(times),
        initial_cash=_decimal(params.cash),
        fee_bps=_decimal(params.fee_bps),
        slippage_bps=_decimal(params.slippage_bps),
        size_pct=_decimal(params.size_pct),
        sl_pct=_decimal(params.sl_pct),
        tp_pct=_decimal(params.tp_pct),
        metrics=metrics,
        total_return=metrics["total_return"],
        sharpe=metrics["sharpe"],
        max_drawdown=metrics["max_drawdown"],
        trade_count=metrics["trade_count"],
        output_dir=str(paths.directory),
        trades_path=str(paths.trades),
        equity_path=str(paths.equity),
        metrics_path=str(paths.metrics),
        report_path=str(paths.report),
        created_by=created_by,
        duration_seconds=duration_seconds,
    )
