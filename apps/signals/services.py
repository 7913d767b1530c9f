"""Live strategy evaluation: turn newly released candles into Signal rows, exactly as a backtest would.

Per (strategy version, market, timeframe) the database keeps an EvaluationCursor: how many
candles were evaluated, up to which open time. A worker process keeps the matching
LiveEvaluation (indicator streams + cooldown) in memory. On each run it

1. brings its in-memory evaluation to the persisted cursor: as is when it matches, by feeding
   the candles another worker evaluated meanwhile when it lags, or by replaying every stored
   candle from the first one when it has none (a fresh or recycled worker process);
2. feeds the candles after the cursor up to the feed's horizon, outside any transaction;
3. commits the signals and the new cursor in one short transaction, only if the cursor is still
   where step 1 found it (compare-and-set), so two workers racing cannot both advance it.

Step 2 runs outside a transaction on purpose: on SQLite every transaction takes the write lock
at BEGIN (transaction_mode IMMEDIATE), and a long replay must not block the web server.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.db import IntegrityError, transaction
from django.db.models import Max, QuerySet
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task

from apps.core.events import EventType, publish
from apps.market.arrays import CandleArrays
from apps.market.candles_io import datetime_to_ms, ms_to_datetime
from apps.market.models import Candle, Market, MarketFeed
from apps.market.selectors import candle_arrays, feed_horizon
from apps.news.selectors import candle_sentiment
from apps.signals import selectors
from apps.signals.evaluation import BarDecision, EvaluationCache, LiveEvaluation
from apps.signals.models import EvaluationCursor, Signal
from apps.strategies.models import Strategy
from apps.strategies.spec import StrategySpec

logger = logging.getLogger(__name__)

EVALUATE_TASK = "apps.signals.tasks.evaluate_strategy"
# The worker's periodic tasks, by name. Migration 0002_schedules creates the same rows (a
# migration must not import code that may change later; a test checks that the two agree);
# `manage.py setup_schedules` puts them back if someone removed or changed them.
SCHEDULES: dict[str, dict[str, object]] = {
    "Collect market data": {"func": "apps.market.tasks.collect_market_data", "minutes": 1},
    "Evaluate lagging strategies": {"func": "apps.signals.tasks.evaluate_strategies", "minutes": 5},
    "Process paper orders": {"func": "apps.exchanges.tasks.process_paper_orders", "minutes": 1},
    "Reconcile trades": {"func": "apps.traders.tasks.reconcile_trades", "minutes": 1},
    "Run trader cycles": {"func": "apps.traders.tasks.dispatch_trader_cycles", "minutes": 1},
    "Check alert conditions": {"func": "apps.traders.tasks.check_alerts", "minutes": 1},
    "Take equity snapshots": {"func": "apps.traders.tasks.take_equity_snapshots", "minutes": 5},
    "Refresh market rules": {"func": "apps.exchanges.tasks.refresh_markets", "minutes": 60},
    # Every minute; each source is fetched only once its own poll interval has passed.
    "Poll news sources": {"func": "apps.news.tasks.poll_news_sources", "minutes": 1},
    "Prune live events": {"func": "apps.core.tasks.prune_events", "minutes": 60},
}
# Candles evaluated per commit: bounds one transaction (and the memory of one read) when a new
# strategy catches up over a long history.
CHUNK_BARS = 10_000
SIGNAL_BATCH_ROWS = 500
ONE_MS = timedelta(milliseconds=1)

# This worker process's evaluations; see apps.signals.evaluation.EvaluationCache.
EVALUATIONS = EvaluationCache()


@dataclass(frozen=True)
class EvaluationResult:
    strategy_id: int
    market_id: int
    timeframe: str
    outcome: str  # "evaluated", "up to date" or why nothing was evaluated
    bars: int = 0  # candles evaluated by this run
    recorded: int = 0  # new Signal rows
    rebuilt_bars: int = 0  # candles replayed to rebuild the in-memory state

    def __str__(self) -> str:
        return (
            f"strategy {self.strategy_id} market {self.market_id} {self.timeframe}: {self.outcome}; "
            f"{self.bars} candles evaluated, {self.recorded} signals recorded, {self.rebuilt_bars} replayed"
        )


def _cache_key(cursor: EvaluationCursor) -> tuple[int, int, int, str]:
    return (cursor.strategy_id, cursor.strategy_version, cursor.market_id, cursor.timeframe)


def strategy_evaluate(*, strategy_id: int, market_id: int, timeframe: str) -> EvaluationResult:
    """Evaluate one strategy on one market and timeframe up to the feed's horizon; record its signals."""
    result = partial(EvaluationResult, strategy_id, market_id, timeframe)
    strategy = Strategy.objects.filter(pk=strategy_id).first()
    market = Market.objects.filter(pk=market_id).first()
    if strategy is None or market is None:
        return result("skipped: the strategy or the market no longer exists")
    if not strategy.enabled:
        return result("skipped: the strategy is disabled")
    spec = selectors.strategy_spec_or_none(strategy)
    if spec is None:
        logger.warning("Strategy %s has a spec that does not validate; it is not evaluated.", strategy.pk)
        return result("skipped: the stored spec does not validate")
    if spec.timeframe != timeframe or market.symbol not in spec.markets:
        return result("skipped: the strategy does not use this market and timeframe")
    # Signals follow the market's live edge: the furthest of its feeds (the exchange's when it is collected).
    horizon = feed_horizon(market=market, timeframe=timeframe)
    if horizon is None:
        return result("skipped: no live candles yet")

    cursor = evaluation_cursor_get_or_create(strategy=strategy, market=market, timeframe=timeframe)
    evaluated = recorded = rebuilt = 0
    while cursor.cursor is None or cursor.cursor < horizon:
        live, replayed = _live_evaluation(cursor=cursor, market=market, spec=spec, cooldown_bars=spec.cooldown_bars)
        rebuilt += replayed
        start = cursor.cursor + ONE_MS if cursor.cursor is not None else None
        chunk_end = _chunk_end(market=market, timeframe=timeframe, after=cursor.cursor, horizon=horizon)
        if chunk_end is None:
            # A horizon past the stored candles (deleted since): nothing to evaluate.
            EVALUATIONS.put(_cache_key(cursor), live)
            break
        candles = candle_arrays(market=market, timeframe=timeframe, start=start, end=chunk_end + ONE_MS)
        decisions = live_evaluation_feed(live=live, market=market, timeframe=timeframe, candles=candles)
        EVALUATIONS.put(_cache_key(cursor), live)
        committed = _evaluation_commit(
            cursor=cursor,
            new_cursor=ms_to_datetime(live.last_open_time_ms),
            bars=live.bars,
            decisions=decisions,
        )
        if committed is None:
            return result(
                "superseded: another run advanced this evaluation, or the strategy changed",
                bars=evaluated,
                recorded=recorded,
                rebuilt_bars=rebuilt,
            )
        cursor, created = committed
        evaluated += len(candles)
        recorded += created
    outcome = "evaluated" if evaluated else "up to date"
    return result(outcome, bars=evaluated, recorded=recorded, rebuilt_bars=rebuilt)


def _chunk_end(*, market: Market, timeframe: str, after: datetime | None, horizon: datetime) -> datetime | None:
    candles = Candle.objects.filter(market=market, timeframe=timeframe, open_time__lte=horizon)
    if after is not None:
        candles = candles.filter(open_time__gt=after)
    last = candles.order_by("open_time").values_list("open_time", flat=True)[CHUNK_BARS - 1 : CHUNK_BARS].first()
    if last is not None:
        return last
    return candles.aggregate(last=Max("open_time"))["last"]


def _live_evaluation(
    *, cursor: EvaluationCursor, market: Market, spec: StrategySpec, cooldown_bars: int
) -> tuple[LiveEvaluation, int]:
    """The in-memory evaluation positioned exactly at `cursor`, and how many candles were replayed to get it."""
    timeframe = cursor.timeframe
    stored = 0
    if cursor.cursor is not None:
        stored = Candle.objects.filter(market=market, timeframe=timeframe, open_time__lte=cursor.cursor).count()
    target_ms = datetime_to_ms(cursor.cursor) if cursor.cursor is not None else None
    entry = EVALUATIONS.get(_cache_key(cursor))
    consistent = stored == cursor.bars
    if entry is not None and consistent and entry.spec == spec and entry.cooldown_bars == cooldown_bars:
        if entry.last_open_time_ms == target_ms and entry.bars == cursor.bars:
            return entry, 0
        if target_ms is not None and (entry.last_open_time_ms is None or entry.last_open_time_ms < target_ms):
            # Another worker evaluated these candles; feeding them again (their signals are
            # already recorded) brings this process's state to the same point.
            start = ms_to_datetime(entry.last_open_time_ms) + ONE_MS if entry.last_open_time_ms is not None else None
            missing = candle_arrays(market=market, timeframe=timeframe, start=start, end=cursor.cursor + ONE_MS)
            if entry.bars + len(missing) == cursor.bars:
                live_evaluation_feed(live=entry, market=market, timeframe=timeframe, candles=missing)
                return entry, len(missing)
    if not consistent:
        logger.warning(
            "Candles before the cursor of %s changed (%d stored, %d evaluated); rebuilding from the stored ones.",
            cursor,
            stored,
            cursor.bars,
        )
    live = LiveEvaluation(spec, cooldown_bars=cooldown_bars)
    if cursor.cursor is not None:
        candles = candle_arrays(market=market, timeframe=timeframe, end=cursor.cursor + ONE_MS)
        live_evaluation_feed(live=live, market=market, timeframe=timeframe, candles=candles)
    return live, live.bars


def live_evaluation_feed(
    *, live: LiveEvaluation, market: Market, timeframe: str, candles: CandleArrays
) -> list[BarDecision]:
    """Feed `candles` with the strategies' `sentiment` input: the market's base asset's rolling news
    sentiment at each close, read now (the signals, the trader's cycle and the backtests read the
    same series, apps.news.selectors.candle_sentiment)."""
    sentiment = candle_sentiment(market=market, timeframe=timeframe, candles=candles)
    return live.feed(candles, sentiment=sentiment)


@transaction.atomic
def evaluation_cursor_get_or_create(*, strategy: Strategy, market: Market, timeframe: str) -> EvaluationCursor:
    """The cursor of the strategy's current version; a new version starts after the last bar an older one decided."""
    key = {"strategy": strategy, "strategy_version": strategy.version, "market": market, "timeframe": timeframe}
    existing = EvaluationCursor.objects.filter(**key).first()
    if existing is not None:
        return existing
    same_series = {"strategy": strategy, "market": market, "timeframe": timeframe}
    older = EvaluationCursor.objects.filter(**same_series, strategy_version__lt=strategy.version)
    decided = [
        older.aggregate(last=Max("cursor"))["last"],
        # Also the older versions' signals, in case their cursors were removed.
        Signal.objects.filter(**same_series, strategy_version__lt=strategy.version).aggregate(
            last=Max("candle_open_time")
        )["last"],
    ]
    live_from = max((moment for moment in decided if moment is not None), default=None)
    try:
        # The savepoint keeps this transaction usable when another worker created the row first.
        with transaction.atomic():
            cursor = EvaluationCursor.objects.create(**key, live_from=live_from)
    except IntegrityError:
        return EvaluationCursor.objects.get(**key)
    older.delete()
    return cursor


@transaction.atomic
def _evaluation_commit(
    *, cursor: EvaluationCursor, new_cursor: datetime, bars: int, decisions: list[BarDecision]
) -> tuple[EvaluationCursor, int] | None:
    """Record `decisions` and move the cursor; None when someone else moved it first or the strategy changed."""
    unchanged = {"cursor__isnull": True} if cursor.cursor is None else {"cursor": cursor.cursor}
    moved = EvaluationCursor.objects.filter(pk=cursor.pk, bars=cursor.bars, **unchanged).update(
        cursor=new_cursor, bars=bars, updated_at=timezone.now()
    )
    if not moved:
        return None
    if not Strategy.objects.filter(pk=cursor.strategy_id, version=cursor.strategy_version, enabled=True).exists():
        transaction.set_rollback(True)
        return None
    live_from_ms = datetime_to_ms(cursor.live_from) if cursor.live_from is not None else None
    signals = [
        Signal(
            strategy_id=cursor.strategy_id,
            strategy_version=cursor.strategy_version,
            market_id=cursor.market_id,
            timeframe=cursor.timeframe,
            candle_open_time=ms_to_datetime(decision.open_time_ms),
            direction=decision.direction.value,
            status=Signal.Status.SUPPRESSED if decision.suppressed else Signal.Status.EMITTED,
            inputs=decision.inputs,
        )
        for decision in decisions
        if live_from_ms is None or decision.open_time_ms > live_from_ms
    ]
    series = Signal.objects.filter(
        strategy_id=cursor.strategy_id, market_id=cursor.market_id, timeframe=cursor.timeframe
    )
    if cursor.cursor is not None:
        series = series.filter(candle_open_time__gt=cursor.cursor)
    series = series.filter(candle_open_time__lte=new_cursor)
    before = series.count() if signals else 0
    # A signal already stored for a bar (a rerun after lost state, or an older version's) is
    # "already recorded": the unique constraint skips it instead of failing the batch.
    Signal.objects.bulk_create(signals, batch_size=SIGNAL_BATCH_ROWS, ignore_conflicts=True)
    created = series.count() - before if signals else 0
    if created:
        _signals_publish(series, created=created)
    cursor.cursor, cursor.bars = new_cursor, bars
    return cursor, created


def _signals_publish(series: QuerySet[Signal], *, created: int) -> None:
    """One event per commit, about its newest signal: a strategy catching up over a long history records
    thousands at once, and a page only needs to know that the list changed."""
    newest = series.select_related("market").order_by("-candle_open_time").first()
    assert newest is not None
    publish(
        EventType.SIGNAL,
        {
            "signal_id": newest.pk,
            "strategy_id": newest.strategy_id,
            "market_id": newest.market_id,
            "symbol": newest.market.symbol,
            "timeframe": newest.timeframe,
            "side": newest.direction,
            "status": newest.status,
            "candle_open_time": newest.candle_open_time,
            "count": created,
        },
    )


def signal_evaluations_enqueue(*, market: Market, timeframe: str, **_signal: object) -> list[int]:
    """One evaluate_strategy task per strategy using `market`/`timeframe`, run after the commit.

    Connected (SignalsConfig.ready) to apps.market.events.candles_released, hence the extra arguments.
    """
    strategy_ids = [strategy.pk for strategy in selectors.strategies_using(market=market, timeframe=timeframe)]
    for strategy_id in strategy_ids:
        # After the commit: the task runs in another process and must see the released candles.
        transaction.on_commit(partial(async_task, EVALUATE_TASK, strategy_id, market.pk, timeframe))
    return strategy_ids


def signal_evaluations_enqueue_pending() -> int:
    """The sweep: enqueue every (enabled strategy, market, timeframe) whose evaluation lags its feed.

    Collection enqueues evaluations as candles arrive; this catches what that cannot: a
    strategy enabled while its feed stands still (a finished replay), or a lost task.
    """
    feeds = list(MarketFeed.objects.filter(horizon__isnull=False).select_related("market"))
    cursors = {
        (c.strategy_id, c.strategy_version, c.market_id, c.timeframe): c.cursor
        for c in EvaluationCursor.objects.filter(strategy__enabled=True)
    }
    pending = 0
    for strategy in Strategy.objects.filter(enabled=True).order_by("pk"):
        spec = selectors.strategy_spec_or_none(strategy)
        if spec is None:
            continue
        for feed in feeds:
            if feed.timeframe != spec.timeframe or feed.market.symbol not in spec.markets:
                continue
            done = cursors.get((strategy.pk, strategy.version, feed.market_id, feed.timeframe))
            if done is None or done < feed.horizon:
                transaction.on_commit(partial(async_task, EVALUATE_TASK, strategy.pk, feed.market_id, feed.timeframe))
                pending += 1
    return pending


@transaction.atomic
def schedules_ensure() -> list[tuple[str, bool]]:
    """Create or correct the worker's schedules; (name, created) for each. Safe to run again."""
    done = []
    for name, fields in SCHEDULES.items():
        _schedule, created = Schedule.objects.update_or_create(
            name=name,
            defaults={**fields, "schedule_type": Schedule.MINUTES, "repeats": -1, "args": None, "kwargs": None},
        )
        done.append((name, created))
    return done
