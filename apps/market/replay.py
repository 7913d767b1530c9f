"""Live market data for the signals pipeline: sources that release newly closed candles.

Each active market keeps one MarketFeed per stored timeframe: its `horizon` is the open time of
the newest candle released to live use. Live evaluation (apps.signals) and the paper exchange
never read past it; the backtester ignores it and reads all stored history.

`ReplaySource`, the only source so far, plays stored history forward as if it were live. The
candles are already stored (the demo loads them), so nothing is copied: the replay moves the
horizon through them, REPLAY_SPEED candles per tick (one tick a minute: django-q2's scheduler
wakes every 30 s and its finest interval is a minute). A new feed starts with REPLAY_START_BARS
candles already in the past, so indicators have history to warm up on. Because replayed bars are
the stored bars, they cannot be mixed up with, or duplicate, the history they come from.

Every stored series is replayed, whatever accounts exist: a paper account's prices must not
depend on its exchange also having a testnet or live account (those price from the exchange
itself). Live collection from the exchanges is another CandleSource (apps.exchanges.collect), whose
collector apps.exchanges registers in apps.market.collection: `market_data_collect` ticks the replay
feeds, then every registered collector, then sends `feeds_ticked`.

Each tick records the feed's state (running, paused, stopped) and, when it is not running, why:
REPLAY_SPEED is 0, no more stored candles (the feed stays on its last candle and resumes when
more are imported), no candles stored, or the error that stopped the tick.

When a feed releases candles, `apps.market.events.candles_released` is sent: the apps that react
(apps.signals evaluates its strategies) are above market and connect to it themselves. Each released
candle is also published as a live `candle` event (apps.core.events), for the charts in the browser.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core.events import EventType, publish
from apps.core.numbers import at_increment
from apps.market.collection import collectors_run
from apps.market.events import candles_released, feeds_ticked
from apps.market.models import REASON_MAX_LENGTH, Candle, CandleSeriesStats, Market, MarketFeed

logger = logging.getLogger(__name__)
State = MarketFeed.State
NO_MORE_CANDLES = "no more stored candles"
NO_CANDLES = "no candles stored"
SPEED_ZERO = "REPLAY_SPEED is 0"
CANDLE_EVENTS_MAX = 20


@dataclass(frozen=True)
class Release:
    """Where a source left a feed: the newest released candle, and the feed's state with its reason."""

    horizon: datetime | None
    state: str = State.RUNNING
    reason: str = ""


class CandleSource(ABC):
    kind: ClassVar[str]

    @abstractmethod
    def release(self, *, market: Market, timeframe: str, horizon: datetime | None) -> Release:
        """Make the candles that closed after `horizon` available as stored Candle rows; return the new horizon.

        `horizon` is None until a tick released something. Runs inside the feed's transaction.
        """


class ReplaySource(CandleSource):
    kind = MarketFeed.Source.REPLAY

    def __init__(self, *, speed: int, start_bars: int) -> None:
        self.speed = speed
        self.start_bars = start_bars

    def release(self, *, market: Market, timeframe: str, horizon: datetime | None) -> Release:
        candles = Candle.objects.filter(market=market, timeframe=timeframe)
        if not candles.exists():
            return Release(horizon, State.STOPPED, NO_CANDLES)
        if horizon is None:  # the feed starts: its warm-up history is already in the past
            ahead, step = candles, self.start_bars + self.speed
        else:
            ahead, step = candles.filter(open_time__gt=horizon), self.speed
        if step == 0:
            return Release(horizon, State.PAUSED, SPEED_ZERO) if ahead.exists() else _end(horizon)
        times = list(ahead.order_by("open_time").values_list("open_time", flat=True)[: step + 1])
        if len(times) > step:
            return Release(times[step - 1])
        # Fewer than `step` candles left: release them all; the replay has reached the end.
        return _end(times[-1] if times else horizon)


def _end(horizon: datetime | None) -> Release:
    return Release(horizon, State.STOPPED, NO_MORE_CANDLES)


def replay_source() -> ReplaySource:
    return ReplaySource(speed=settings.REPLAY_SPEED, start_bars=settings.REPLAY_START_BARS)


@dataclass(frozen=True)
class FeedTick:
    market_id: int
    timeframe: str
    source: str
    before: datetime | None
    horizon: datetime | None
    state: str
    reason: str

    @property
    def moved(self) -> bool:
        return self.horizon != self.before


@transaction.atomic
def feed_advance(*, market: Market, timeframe: str, source: CandleSource) -> FeedTick:
    """One tick of one feed: release the next candles, record the feed's state and, when candles
    were released, send `candles_released`."""
    feed = _feed_locked(market=market, timeframe=timeframe, source=source)
    before = feed.horizon
    release = source.release(market=market, timeframe=timeframe, horizon=before)
    feed.horizon = release.horizon
    _feed_state_set(feed, state=release.state, reason=release.reason)
    feed.save()
    if feed.horizon is not None and feed.horizon != before:
        _candles_publish(market=market, timeframe=timeframe, source=source.kind, after=before, upto=feed.horizon)
        _announce(market=market, timeframe=timeframe, source=source.kind, horizon=feed.horizon)
    return _tick(feed, before=before)


def _candles_publish(*, market: Market, timeframe: str, source: str, after: datetime | None, upto: datetime) -> None:
    """A `candle` event per released candle, oldest first, in the feed's transaction, its prices at the
    market's tick (its volume at the step). A catch-up (a feed's warm-up start, a backfill after an
    outage) publishes only its newest CANDLE_EVENTS_MAX: a chart that missed the older ones reads them
    from the API when it is drawn again."""
    released = Candle.objects.filter(market=market, timeframe=timeframe, open_time__lte=upto)
    if after is not None:
        released = released.filter(open_time__gt=after)
    newest = list(released.order_by("-open_time")[:CANDLE_EVENTS_MAX])
    for candle in reversed(newest):
        data = {
            "market_id": market.pk,
            "symbol": market.symbol,
            "timeframe": timeframe,
            "source": source,
            "time": candle.open_time,
            "o": at_increment(candle.open, market.price_precision),
            "h": at_increment(candle.high, market.price_precision),
            "l": at_increment(candle.low, market.price_precision),
            "c": at_increment(candle.close, market.price_precision),
            "v": at_increment(candle.volume, market.amount_precision),
        }
        publish(EventType.CANDLE, data)


def _announce(*, market: Market, timeframe: str, source: str, horizon: datetime) -> None:
    """Send candles_released. A failing receiver is logged, not raised: prices (the paper exchange
    reads the horizon) must not stand still because something above market failed to react."""
    responses = candles_released.send_robust(
        sender=MarketFeed, market=market, timeframe=timeframe, source=source, horizon=horizon
    )
    for receiver, response in responses:
        if isinstance(response, Exception):
            logger.error("%s failed on new %s %s candles", receiver, market.symbol, timeframe, exc_info=response)


def _feed_locked(*, market: Market, timeframe: str, source: CandleSource) -> MarketFeed:
    """The feed row, created when missing, locked for this transaction."""
    feeds = MarketFeed.objects.select_for_update().filter(market=market, timeframe=timeframe, source=source.kind)
    feed = feeds.first()
    if feed is not None:
        return feed
    try:
        # The savepoint keeps the transaction usable when a concurrent tick created it first.
        with transaction.atomic():
            return MarketFeed.objects.create(market=market, timeframe=timeframe, source=source.kind)
    except IntegrityError:
        return feeds.get()


def _feed_state_set(feed: MarketFeed, *, state: str, reason: str) -> None:
    """Set the state; `state_since` moves only when the state or its reason changes."""
    reason = reason[:REASON_MAX_LENGTH]
    if (feed.state, feed.state_reason) == (state, reason):
        return
    feed.state, feed.state_reason, feed.state_since = state, reason, timezone.now()
    level = logging.WARNING if state == State.STOPPED and reason != NO_MORE_CANDLES else logging.INFO
    logger.log(level, "%s", feed.status_line)


@transaction.atomic
def feed_stop(*, market: Market, timeframe: str, source: CandleSource, reason: str) -> FeedTick:
    """Record that the feed stopped for `reason` (its tick failed); the next tick tries again."""
    feed = _feed_locked(market=market, timeframe=timeframe, source=source)
    _feed_state_set(feed, state=State.STOPPED, reason=reason)
    feed.save()
    return _tick(feed, before=feed.horizon)


def _tick(feed: MarketFeed, *, before: datetime | None) -> FeedTick:
    return FeedTick(
        market_id=feed.market_id,
        timeframe=feed.timeframe,
        source=feed.source,
        before=before,
        horizon=feed.horizon,
        state=feed.state,
        reason=feed.state_reason,
    )


def market_data_collect(*, market_id: int | None = None) -> list[FeedTick]:
    """One tick for every stored timeframe of every active market (or of one market) on the replay, then
    (for all markets) the registered collectors' ticks; `feeds_ticked` is sent with all of them."""
    ticks = replay_collect(market_id=market_id)
    if market_id is None:
        ticks += _collectors_ticks()
    responses = feeds_ticked.send_robust(sender=MarketFeed, ticks=ticks)
    for receiver, response in responses:
        if isinstance(response, Exception):
            logger.error("%s failed after a collection run", receiver, exc_info=response)
    return ticks


def _collectors_ticks() -> list[FeedTick]:
    try:
        return collectors_run()
    except Exception:
        # The replay's ticks are done and must be reported; a collector handles its own feeds' errors.
        logger.exception("A market data collector failed")
        return []


def replay_collect(*, market_id: int | None = None) -> list[FeedTick]:
    """One replay tick for every stored timeframe of every active market (or of one market)."""
    markets = Market.objects.filter(active=True).order_by("pk")
    if market_id is not None:
        markets = markets.filter(pk=market_id)
    stored = CandleSeriesStats.objects.filter(market__in=markets).values_list("market_id", "timeframe")
    fed = MarketFeed.objects.filter(market__in=markets, source=MarketFeed.Source.REPLAY).values_list(
        "market_id", "timeframe"
    )
    timeframes: dict[int, set[str]] = {}
    for pk, timeframe in [*stored, *fed]:
        timeframes.setdefault(pk, set()).add(timeframe)
    source = replay_source()
    ticks = []
    for market in markets:
        for timeframe in sorted(timeframes.get(market.pk, ())):
            ticks.append(_feed_tick(market=market, timeframe=timeframe, source=source))
    return ticks


def _feed_tick(*, market: Market, timeframe: str, source: CandleSource) -> FeedTick:
    try:
        return feed_advance(market=market, timeframe=timeframe, source=source)
    except Exception as exc:
        # One broken series must not starve the others, and the pages must say why it stands still.
        logger.exception("The %s %s feed failed", market.symbol, timeframe)
        return feed_stop(
            market=market, timeframe=timeframe, source=source, reason=f"error: {str(exc) or type(exc).__name__}"
        )
