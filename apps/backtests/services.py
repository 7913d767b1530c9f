"""Backtests over stored candles: creating a run, running it (one path for `manage.py backtest`
and the worker's task), and recording its progress and result on the BacktestRun row.

Reading candles, simulating and writing the files happen outside any transaction: on SQLite a
transaction holds the write lock (IMMEDIATE mode), which must not wait on a simulation. Each
progress step is its own small transaction (the UPDATE and its `backtest` event), so the run's page
sees it at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django_q.tasks import async_task

from apps.backtests import engine, equity_csv, selectors
from apps.backtests.engine import BacktestParams, BacktestResult, signal_codes, simulate
from apps.backtests.metrics import compute_metrics
from apps.backtests.models import BacktestRun
from apps.backtests.reports import OutputPaths, RunContext, write_outputs
from apps.core.errors import ServiceValidationError
from apps.core.events import EventType, publish
from apps.market import selectors as market_selectors
from apps.market.candles_io import ms_to_datetime
from apps.market.models import Market
from apps.market.timeframes import timeframe_ms
from apps.news.selectors import candle_sentiment
from apps.strategies.models import Strategy
from apps.strategies.spec import StrategySpec, validate_spec

logger = logging.getLogger(__name__)
MIN_BARS = 2
TIME_FORMAT = "%Y-%m-%d %H:%M"
DEFAULT_OUT_ROOT = Path(settings.BASE_DIR) / "var" / "backtests"
RUN_TASK = "apps.backtests.tasks.backtest_run"
Phase = BacktestRun.Phase
# Percent done when each phase starts. Loading and compiling take most of a first run in a
# process (numba compiles the kernels once per install); later runs spend little anywhere.
PHASE_START = {Phase.LOADING: 0, Phase.COMPILING: 10, Phase.SIGNALS: 40, Phase.SIMULATING: 60, Phase.WRITING: 80}
DONE_PERCENT = 100

# (phase, percent): called as each phase starts, then ("", 100) when the run is done.
ProgressCallback = Callable[[str, int], None]


@dataclass(frozen=True)
class BacktestRequest:
    """What to run: the spec (its timeframe the one to run on), where, over which period, how."""

    spec: StrategySpec
    market: Market
    params: BacktestParams
    strategy_name: str
    strategy_source: str
    strategy: Strategy | None = None
    start: datetime | None = None  # first bar, inclusive
    end: datetime | None = None  # bars opening before this
    out_dir: Path | None = None  # default: var/backtests/<time>-<strategy>-<symbol>-<tf>


@dataclass(frozen=True)
class BacktestOutcome:
    run: BacktestRun
    result: BacktestResult
    metrics: dict[str, Any]
    paths: OutputPaths
    # Bars whose close had a news sentiment, when the strategy reads it (None when it does not).
    sentiment_bars: int | None = None


def _decimal(value: float | None) -> Decimal | None:
    # Through str: the operator's "0.1" is stored as 0.1, not as the binary float's expansion.
    return None if value is None else Decimal(str(value))


def default_out_dir(name: str, symbol: str, timeframe: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    base = DEFAULT_OUT_ROOT / f"{stamp}-{slugify(name)}-{slugify(symbol)}-{timeframe}"
    candidate, suffix = base, 2
    while candidate.exists() or BacktestRun.objects.filter(output_dir=str(candidate.resolve())).exists():
        candidate, suffix = base.with_name(f"{base.name}-{suffix}"), suffix + 1
    return candidate


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


def _check_request(request: BacktestRequest) -> None:
    """Bad input is refused before a run is stored: the first problem, by the field it concerns."""
    problems = request.params.field_problems()
    if problems:
        field, message = next(iter(problems.items()))
        raise ServiceValidationError(field, message)
    if request.start is not None and request.end is not None and request.end <= request.start:
        raise ServiceValidationError("end", "the end of the period is not after its start")
    timeframe = request.spec.timeframe
    bars = selectors.candle_count(market=request.market, timeframe=timeframe, start=request.start, end=request.end)
    if bars < MIN_BARS:
        message = _no_candles_message(market=request.market, timeframe=timeframe, start=request.start, end=request.end)
        raise ServiceValidationError("candles", message)


def _run_setup(
    *, market: Market, timeframe: str, period: tuple[datetime | None, datetime | None], params: BacktestParams
) -> dict[str, Any]:
    """A run's market, period and engine parameters, as BacktestRun columns."""
    return {
        "market": market,
        "exchange": market.exchange,
        "symbol": market.symbol,
        "timeframe": timeframe,
        "requested_start": period[0],
        "requested_end": period[1],
        "initial_cash": _decimal(params.cash),
        "fee_bps": _decimal(params.fee_bps),
        "slippage_bps": _decimal(params.slippage_bps),
        "size_pct": _decimal(params.size_pct),
        "sl_pct": _decimal(params.sl_pct),
        "tp_pct": _decimal(params.tp_pct),
        "fill": params.fill,
    }


@transaction.atomic
def backtest_run_create(*, request: BacktestRequest, created_by: AbstractBaseUser | None = None) -> BacktestRun:
    """Store a queued run; nothing is computed yet (backtest_run_execute does that)."""
    _check_request(request)
    spec, market, params = request.spec, request.market, request.params
    out_dir = request.out_dir or default_out_dir(request.strategy_name, market.symbol, spec.timeframe)
    return BacktestRun.objects.create(
        strategy_name=request.strategy_name,
        strategy_source=request.strategy_source,
        strategy=request.strategy,
        strategy_version=request.strategy.version if request.strategy is not None else None,
        spec=spec.model_dump(mode="json", exclude_none=True),
        **_run_setup(market=market, timeframe=spec.timeframe, period=(request.start, request.end), params=params),
        output_dir=str(Path(out_dir).resolve()),
        created_by=created_by,
    )


def backtest_start(
    *,
    strategy: Strategy,
    market: Market,
    params: BacktestParams,
    timeframe: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    created_by: AbstractBaseUser | None = None,
) -> BacktestRun:
    """From the strategy page or the API: store a queued run of the stored strategy and hand it
    to the worker once the row is committed. `timeframe` defaults to the spec's."""
    spec, errors = validate_spec(strategy.spec)
    if spec is None:
        raise ServiceValidationError(
            "strategy", f"{strategy.name}'s spec is invalid ({errors[0]}); fix it on the strategy's page first"
        )
    if market.symbol not in spec.markets:
        raise ServiceValidationError(
            "market", f"{market.symbol} is not one of {strategy.name}'s markets ({', '.join(spec.markets)})"
        )
    request = BacktestRequest(
        spec=spec.model_copy(update={"timeframe": timeframe or spec.timeframe}),
        market=market,
        params=params,
        strategy_name=strategy.name,
        strategy_source=BacktestRun.Source.STORED,
        strategy=strategy,
        start=start,
        end=end,
    )
    with transaction.atomic():
        run = backtest_run_create(request=request, created_by=created_by)
        # After the commit: the worker is another process and must find the row.
        transaction.on_commit(partial(async_task, RUN_TASK, run.pk, task_name=f"backtest #{run.pk}"))
    return run


def _warm_up(spec: StrategySpec) -> None:
    """On a thread, while the main one reads candles: it needs no database and no GIL for long
    (LLVM runs in C), so the first run in a process does not pay numba's start-up after the read."""
    try:
        engine.warm_up(spec)
        equity_csv.warm_up()
    except Exception:  # an optimisation only: the run itself reports any real problem
        logger.debug("backtest warm-up failed", exc_info=True)


def _backtest_publish(*, run_id: int, status: str, phase: str, progress: int) -> None:
    """The live `backtest` event of a progress step or status change, in the transaction that stores it."""
    publish(EventType.BACKTEST, {"run_id": run_id, "status": status, "phase": phase, "progress": progress})


@transaction.atomic
def _advance(run: BacktestRun, phase: str, percent: int, progress: ProgressCallback | None) -> None:
    BacktestRun.objects.filter(pk=run.pk).update(phase=phase, progress=percent)
    _backtest_publish(run_id=run.pk, status=BacktestRun.Status.RUNNING, phase=phase, progress=percent)
    if progress is not None:
        progress(phase, percent)


@transaction.atomic
def _claim(run: BacktestRun) -> bool:
    """Queued -> running, once: a task delivered twice finds the run taken and does nothing."""
    now = timezone.now()
    claimed = BacktestRun.objects.filter(pk=run.pk, status=BacktestRun.Status.QUEUED).update(
        status=BacktestRun.Status.RUNNING, started_at=now, phase=Phase.LOADING, progress=0
    )
    run.refresh_from_db()
    if claimed == 1:
        _backtest_publish(run_id=run.pk, status=run.status, phase=run.phase, progress=run.progress)
    return claimed == 1


def _failure_text(exc: Exception) -> str:
    if isinstance(exc, ServiceValidationError):
        return exc.message
    if isinstance(exc, OSError):
        where = f" {exc.filename}" if exc.filename else ""
        return f"the report files could not be written{where}: {exc.strerror or exc}"
    return f"the backtest stopped on an unexpected error ({type(exc).__name__}: {exc}); the worker log has details"


@transaction.atomic
def backtest_run_fail(*, run: BacktestRun, error: str) -> None:
    BacktestRun.objects.filter(pk=run.pk).update(
        status=BacktestRun.Status.FAILED, error=error, finished_at=timezone.now()
    )
    run.refresh_from_db()
    _backtest_publish(run_id=run.pk, status=run.status, phase=run.phase, progress=run.progress)


def backtest_run_execute(*, run: BacktestRun, progress: ProgressCallback | None = None) -> BacktestOutcome | None:
    """Run a queued run: read the candles, simulate, write the files, record the result.

    Progress goes to the row, with a live `backtest` event (the run's page follows it), and to
    `progress` (the command's bar).
    A failure is recorded on the run in plain words and raised again; None means the run was
    not queued any more (another worker has it, or it already ran).
    """
    if not _claim(run):
        return None
    started = time.perf_counter()
    try:
        outcome = _execute(run, progress)
    except Exception as exc:
        backtest_run_fail(run=run, error=_failure_text(exc))
        raise
    _record_result(run=outcome.run, outcome=outcome, duration_seconds=time.perf_counter() - started)
    if progress is not None:
        progress("", DONE_PERCENT)
    return outcome


def _execute(run: BacktestRun, progress: ProgressCallback | None) -> BacktestOutcome:
    spec = StrategySpec.model_validate(run.spec)
    params = BacktestParams(
        cash=float(run.initial_cash),
        fee_bps=float(run.fee_bps),
        slippage_bps=float(run.slippage_bps),
        size_pct=float(run.size_pct),
        sl_pct=None if run.sl_pct is None else float(run.sl_pct),
        tp_pct=None if run.tp_pct is None else float(run.tp_pct),
        fill=run.fill,
    ).validated()
    if run.market is None:
        raise ServiceValidationError("market", f"the market {run.symbol} on {run.exchange} was deleted")
    _advance(run, Phase.LOADING, PHASE_START[Phase.LOADING], progress)
    with ThreadPoolExecutor(max_workers=1) as executor:
        warming = executor.submit(_warm_up, spec)
        candles = market_selectors.candle_arrays(
            market=run.market, timeframe=run.timeframe, start=run.requested_start, end=run.requested_end
        )
        if not warming.done():
            _advance(run, Phase.COMPILING, PHASE_START[Phase.COMPILING], progress)
        warming.result()
    if len(candles) < MIN_BARS:
        raise ServiceValidationError(
            "candles",
            _no_candles_message(
                market=run.market, timeframe=run.timeframe, start=run.requested_start, end=run.requested_end
            ),
        )
    _advance(run, Phase.SIGNALS, PHASE_START[Phase.SIGNALS], progress)
    sentiment = sentiment_bars = None
    if "sentiment" in spec.series_read():  # else no signal depends on it: not read at all
        sentiment = candle_sentiment(market=run.market, timeframe=run.timeframe, candles=candles)
        sentiment_bars = int(np.isfinite(sentiment).sum())
    codes = signal_codes(spec, candles, sentiment=sentiment)
    _advance(run, Phase.SIMULATING, PHASE_START[Phase.SIMULATING], progress)
    result = simulate(candles, codes, params)
    metrics = compute_metrics(result, timeframe_ms=timeframe_ms(run.timeframe))
    _advance(run, Phase.WRITING, PHASE_START[Phase.WRITING], progress)
    context = RunContext(
        strategy_name=run.strategy_name,
        strategy_source=run.strategy_source,
        strategy_version=run.strategy_version,
        exchange=run.exchange,
        symbol=run.symbol,
        timeframe=run.timeframe,
        spec=run.spec,
        extra={} if sentiment_bars is None else {"sentiment_bars": sentiment_bars},
    )
    paths = write_outputs(Path(run.output_dir), result, metrics, context)
    return BacktestOutcome(run=run, result=result, metrics=metrics, paths=paths, sentiment_bars=sentiment_bars)


@transaction.atomic
def backtest_run_record(
    *,
    context: RunContext,
    market: Market,
    strategy: Strategy | None,
    outcome: tuple[BacktestResult, dict[str, Any], OutputPaths],
    requested: tuple[datetime | None, datetime | None],
    duration_seconds: float,
    created_by: AbstractBaseUser | None = None,
) -> BacktestRun:
    """Record a backtest computed elsewhere (`backtest --trader`) as a done run, so it is listed on
    /backtests/ with its metrics and files like every other run."""
    result, metrics, paths = outcome
    params = result.params
    run = BacktestRun.objects.create(
        strategy_name=context.strategy_name,
        strategy_source=context.strategy_source,
        strategy=strategy,
        strategy_version=context.strategy_version,
        spec=context.spec,
        **_run_setup(market=market, timeframe=context.timeframe, period=requested, params=params),
        status=BacktestRun.Status.RUNNING,
        started_at=timezone.now(),
        output_dir=str(paths.directory),
        created_by=created_by,
    )
    _record_result(run=run, outcome=BacktestOutcome(run, result, metrics, paths), duration_seconds=duration_seconds)
    return run


@transaction.atomic
def _record_result(*, run: BacktestRun, outcome: BacktestOutcome, duration_seconds: float) -> None:
    times = outcome.result.candles.open_time
    metrics, paths = outcome.metrics, outcome.paths
    run.status = BacktestRun.Status.DONE
    run.phase = ""
    run.progress = DONE_PERCENT
    run.finished_at = timezone.now()
    run.duration_seconds = duration_seconds
    run.period_start = ms_to_datetime(int(times[0]))
    run.period_end = ms_to_datetime(int(times[-1]))
    run.bars = len(times)
    run.metrics = metrics
    run.total_return = metrics["total_return"]
    run.sharpe = metrics["sharpe"]
    run.max_drawdown = metrics["max_drawdown"]
    run.trade_count = metrics["trade_count"]
    run.output_dir = str(paths.directory)
    run.trades_path = str(paths.trades)
    run.equity_path = str(paths.equity)
    run.metrics_path = str(paths.metrics)
    run.report_path = str(paths.report)
    run.save()
    _backtest_publish(run_id=run.pk, status=run.status, phase=run.phase, progress=run.progress)
