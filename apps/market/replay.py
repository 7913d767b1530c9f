"""Live market data for the signals pipeline: sources that release newly closed candles.

Each active market keeps one MarketFeed per stored timeframe: its `horizon` is the open time of
the newest candle released to live use. Live evaluation (apps.signals) never reads past it; the
backtester ignores it and reads all stored history.

Sources (`CandleSource`):

- `ReplaySource`, the only one implemented: plays stored history forward as if it were live.
  The candles are already stored (the demo loads them), so nothing is copied: the replay moves
  the horizon through them, REPLAY_SPEED candles per tick (one tick a minute: django-q2's
  scheduler wakes every 30 s and its finest interval is a minute). A new feed starts with
  REPLAY_START_BARS candles already in the past, so indicators have history to warm up on.
  Because replayed bars are the stored bars, they cannot be mixed up with, or duplicate, the
  history they come from. At the end of the stored series the feed stays on its last candle.
- `ExchangeSource`, the seam for exchanges reached through ccxt: fetch the candles closed since
  the newest stored one, append them (candle_series_import) and move the horizon to the newest
  closed one. Not implemented yet; markets that need it are logged and skipped.

A market is replayed unless its exchange has a testnet or live account: paper is the default.
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

from apps.exchanges.models import ExchangeAccount
from apps.market.models import Candle, CandleSeriesStats, Market, MarketFeed
from apps.signals.services import signal_evaluations_enqueue

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Release:
    """Where a source left a feed: the newest released candle, and whether stored candles ran out."""

    horizon: datetime | None
    exhausted: bool = False


class CandleSource(ABC):
    kind: ClassVar[str]

    @abstractmethod
    def release(self, *, market: Market, timeframe: str, horizon: datetime | None, new: bool) -> Release:
        """Make the candles that closed after `horizon` available as stored Candle rows; return the new horizon.

        `new` is True on a feed's first tick. Runs inside the feed's transaction.
        """


class ReplaySource(CandleSource):
    kind = MarketFeed.Source.REPLAY

    def __init__(self, *, speed: int, start_bars: int) -> None:
        self.speed = speed
        self.start_bars = start_bars

    def release(self, *, market: Market, timeframe: str, horizon: datetime | None, new: bool) -> Release:
        candles = Candle.objects.filter(market=market, timeframe=timeframe)
        if new:
            ahead, step = candles, self.start_bars + self.speed
        else:
            ahead = candles.filter(open_time__gt=horizon) if horizon is not None else candles
            step = self.speed
        if step == 0:
            return Release(horizon, exhausted=not ahead.exists())
        times = list(ahead.order_by("open_time").values_list("open_time", flat=True)[: step + 1])
        if len(times) > step:
            return Release(times[step - 1])
        # Fewer than `step` candles left: release them all; the replay has reached the end.
        return Release(times[-1] if times else horizon, exhausted=True)


class ExchangeSource(CandleSource):
    """Candles fetched from the exchange through ccxt. The seam for live collection; not implemented yet."""

    kind = MarketFeed.Source.EXCHANGE

    def release(self, *, market: Market, timeframe: str, horizon: datetime | None, new: bool) -> Release:
        raise NotImplementedError(
            f"live candle collection from {market.exchange} through ccxt is not implemented yet; "
            f"{market.symbol} is collected only when its exchange has paper accounts alone (replay)"
        )


def source_for(market: Market) -> CandleSource:
    """Replay unless the market's exchange has a testnet or live account (whose orders need real prices)."""
    if ExchangeAccount.objects.filter(exchange=market.exchange).exclude(mode=ExchangeAccount.Mode.PAPER).exists():
        return ExchangeSource()
    return ReplaySource(speed=settings.REPLAY_SPEED, start_bars=settings.REPLAY_START_BARS)


@dataclass(frozen=True)
class FeedTick:
    market_id: int
    timeframe: str
    source: str
    before: datetime | None
    horizon: datetime | None
    exhausted: bool
    strategies: tuple[int, ...]  # evaluations enqueued

    @property
    def moved(self) -> bool:
        return self.horizon != self.before


@transaction.atomic
def feed_advance(*, market: Market, timeframe: str, source: CandleSource) -> FeedTick:
    """One tick of one feed: release the next candles and, when any were released, enqueue the
    evaluation of the strategies that use them (after the commit)."""
    feed = MarketFeed.objects.select_for_update().filter(market=market, timeframe=timeframe).first()
    new = feed is None
    if feed is None:
        try:
            # The savepoint keeps the transaction usable when a concurrent tick created it first.
            with transaction.atomic():
                feed = MarketFeed.objects.create(market=market, timeframe=timeframe, source=source.kind)
        except IntegrityError:
            feed = MarketFeed.objects.select_for_update().get(market=market, timeframe=timeframe)
            new = False
    before = feed.horizon
    release = source.release(market=market, timeframe=timeframe, horizon=before, new=new)
    feed.source = source.kind
    feed.horizon = release.horizon
    if release.exhausted and feed.exhausted_at is None:
        feed.exhausted_at = timezone.now()
        logger.info("The replay of %s %s reached its last stored candle (%s).", market.symbol, timeframe, feed.horizon)
    elif not release.exhausted:
        feed.exhausted_at = None
    feed.save()
    strategies: list[int] = []
    if feed.horizon is not None and feed.horizon != before:
        strategies = signal_evaluations_enqueue(market=market, timeframe=timeframe)
    return FeedTick(
        market_id=market.pk,
        timeframe=timeframe,
        source=feed.source,
        before=before,
        horizon=feed.horizon,
        exhausted=feed.exhausted_at is not None,
        strategies=tuple(strategies),
    )


def market_data_collect(*, market_id: int | None = None) -> list[FeedTick]:
    """One tick for every stored timeframe of every active market (or of one market)."""
    markets = Market.objects.filter(active=True).order_by("pk")
    if market_id is not None:
        markets = markets.filter(pk=market_id)
    stored = CandleSeriesStats.objects.filter(market__in=markets).values_list("market_id", "timeframe")
    fed = MarketFeed.objects.filter(market__in=markets).values_list("market_id", "timeframe")
    timeframes: dict[int, set[str]] = {}
    for pk, timeframe in [*stored, *fed]:
        timeframes.setdefault(pk, set()).add(timeframe)
    ticks = []
    for market in markets:
        if market.pk not in timeframes:
            continue
        source = source_for(market)
        for timeframe in sorted(timeframes[market.pk]):
            try:
                ticks.append(feed_advance(market=market, timeframe=timeframe, source=source))
            except NotImplementedError as exc:
                logger.info("Not collecting %s: %s", market, exc)
                break
    return ticks
