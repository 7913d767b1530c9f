"""Live collection from the exchanges: the exchange's closed candles become stored candles and move the
market's exchange feed (MarketFeed source "exchange").

What is collected (`collected_series`): every series apps.market.collection says is followed (strategies,
traders, operators; each such market also on 1m), on an active market whose exchange needs live prices:
some account on it trades there (testnet or live) or is a paper account on live prices. The offline
demo (paper accounts on the replay) therefore sends no request.

How (`exchange_feed_advance`): the closed candles after the feed's horizon (or after the last stored
candle; a series never collected starts MARKET_DATA_BACKFILL_BARS candles back) are fetched through the
process's one keyless client per exchange (adapters.pool), at most MARKET_DATA_TICK_BARS a tick, paged.
They are checked with the rules of every stored candle (apps.market.candles_io.first_bad_row): the
candles before a bad one are stored, the feed stops with the reason, and the next tick fetches again
from there. Stored candles move the horizon, and the shared feed_advance announces them
(candles_released), so strategies and traders react whatever brought the candles. The forming candle of
the same requests goes to the `market` cache (apps.market.livecache).

The network calls happen before the feed's transaction, not inside it: on SQLite every transaction holds
the database's write lock from its start, and a slow exchange must not hold up the web server's writes.

Failures become feed states with plain reasons: "exchange unreachable", "rate limited by the exchange",
"symbol delisted or unknown on the exchange", "bad candle from the exchange: ...". An unreachable or
rate-limiting exchange is asked nothing more in that tick (its other feeds stop with the same reason);
a failing market never stops the other markets.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from django.conf import settings
from django.utils import timezone

from apps.exchanges.adapters import errors
from apps.exchanges.adapters.pool import public_adapter
from apps.exchanges.models import ExchangeAccount
from apps.market import services as market_services
from apps.market.arrays import COLUMNS, CandleArrays
from apps.market.candles_io import CandleRows, datetime_to_ms, first_bad_row, ms_to_datetime
from apps.market.collection import followed_series
from apps.market.models import CandleSeriesStats, Market, MarketFeed
from apps.market.replay import CandleSource, FeedTick, Release, feed_advance, feed_stop
from apps.market.timeframes import timeframe_ms

logger = logging.getLogger(__name__)
State = MarketFeed.State
UNREACHABLE = "exchange unreachable"
RATE_LIMITED = "rate limited by the exchange"
UNKNOWN_SYMBOL = "symbol delisted or unknown on the exchange"
EMPTY = CandleArrays.from_rows(np.empty((0, len(COLUMNS))))


class ExchangeSource(CandleSource):
    """Stores candles already fetched from the exchange (the `batch`, oldest first) that follow the horizon."""

    kind = MarketFeed.Source.EXCHANGE

    def __init__(self, batch: CandleArrays = EMPTY) -> None:
        self.batch = batch

    def release(self, *, market: Market, timeframe: str, horizon: datetime | None) -> Release:
        horizon = horizon or _last_stored(market=market, timeframe=timeframe)
        # Another process (the stream, a second worker) may have stored some of them meanwhile.
        candles = _after(self.batch, horizon)
        rows = _rows(candles)
        bad = first_bad_row(rows, timeframe_ms=timeframe_ms(timeframe))
        good = candles.slice(0, bad.index) if bad is not None else candles
        market_services.candles_append(market=market, timeframe=timeframe, candles=good)
        if len(good):
            horizon = ms_to_datetime(int(good.open_time[-1]))
        if bad is not None:
            return Release(horizon, State.STOPPED, f"bad candle from the exchange: {bad.message(rows)}")
        return Release(horizon)


def _rows(candles: CandleArrays) -> CandleRows:
    ohlcv = np.column_stack([candles.open, candles.high, candles.low, candles.close, candles.volume])
    times = candles.open_time

    def where(index: int) -> str:
        return f"candle {ms_to_datetime(int(times[index])):%Y-%m-%d %H:%M} UTC"

    return CandleRows(times_us=times.astype(np.float64) * 1000, values=ohlcv, where=where)


def _after(candles: CandleArrays, moment: datetime | None) -> CandleArrays:
    """The candles that open after `moment` (all of them when it is None), in their order."""
    if moment is None or not len(candles):
        return candles
    later = np.flatnonzero(candles.open_time > datetime_to_ms(moment))
    return candles.slice(int(later[0]), len(candles)) if len(later) else EMPTY


def _last_stored(*, market: Market, timeframe: str) -> datetime | None:
    stats = CandleSeriesStats.objects.filter(market=market, timeframe=timeframe)
    return stats.values_list("last_open_time", flat=True).first()


@dataclass(frozen=True)
class _Resume:
    """Where collection resumes: after `after` (None: nothing stored yet). From the feed's own horizon the
    whole gap is caught up (an outage); otherwise the start is bounded to MARKET_DATA_BACKFILL_BARS back,
    so that old imported history does not make a first start fetch years of candles."""

    after: datetime | None
    backfill: int | None


def _resume(*, market: Market, timeframe: str) -> _Resume:
    horizon = (
        MarketFeed.objects.filter(market=market, timeframe=timeframe, source=MarketFeed.Source.EXCHANGE)
        .values_list("horizon", flat=True)
        .first()
    )
    if horizon is not None:
        return _Resume(horizon, backfill=None)
    return _Resume(_last_stored(market=market, timeframe=timeframe), backfill=settings.MARKET_DATA_BACKFILL_BARS)


def exchange_feed_advance(*, market: Market, timeframe: str, pushed: CandleArrays | None = None) -> FeedTick:
    """One tick of the market's exchange feed: store the closed candles that follow its horizon.

    `pushed`: closed candles a stream received (oldest first). Those that follow the horizon are stored
    as they are, up to the first that skips or repeats a candle; whatever lies between the horizon and the
    first of them is fetched through REST first (at most MARKET_DATA_TICK_BARS: pushed candles that would
    leave a hole are dropped, to be fetched later).
    Without `pushed` the candles are polled. Exchange failures stop the feed with a plain reason (the
    next tick tries again); they are not raised."""
    source = ExchangeSource()
    try:
        batch = _candles_to_store(market=market, timeframe=timeframe, pushed=pushed)
    except errors.AdapterError as exc:
        logger.warning("Collecting %s %s on %s failed: %s", market.symbol, timeframe, market.exchange, exc)
        return feed_stop(market=market, timeframe=timeframe, source=source, reason=failure_reason(exc))
    return feed_advance(market=market, timeframe=timeframe, source=ExchangeSource(batch))


def _candles_to_store(*, market: Market, timeframe: str, pushed: CandleArrays | None) -> CandleArrays:
    """The closed candles to append: polled, or pushed ones with the gap before them filled by REST."""
    resume = _resume(market=market, timeframe=timeframe)
    step = timeframe_ms(timeframe)
    pushed = _run(_after(pushed, resume.after), step=step) if pushed is not None else None
    since = datetime_to_ms(resume.after) + step if resume.after is not None else None
    limit = settings.MARKET_DATA_TICK_BARS
    if pushed is not None and len(pushed):
        first_pushed = int(pushed.open_time[0])
        if since == first_pushed:
            return pushed
        if since is not None:
            limit = min(limit, (first_pushed - since) // step)
    fetched = _fetch(market=market, timeframe=timeframe, since=since, limit=limit, backfill=resume.backfill)
    if pushed is None or not len(pushed) or not _joins(fetched, pushed, step=step):
        return fetched
    last_fetched = ms_to_datetime(int(fetched.open_time[-1])) if len(fetched) else None
    return _concat(fetched, _after(pushed, last_fetched))


def _run(candles: CandleArrays, *, step: int) -> CandleArrays:
    """The candles up to the first that does not follow the one before it by one step. A stream's batch
    may repeat or skip a candle; REST fetches whatever was cut off, so a hole is never stored."""
    breaks = np.flatnonzero(np.diff(candles.open_time) != step)
    return candles.slice(0, int(breaks[0]) + 1) if len(breaks) else candles


def _joins(fetched: CandleArrays, pushed: CandleArrays, *, step: int) -> bool:
    """Whether the pushed candles continue the fetched ones without a hole."""
    return len(fetched) > 0 and int(fetched.open_time[-1]) + step >= int(pushed.open_time[0])


def _concat(first: CandleArrays, second: CandleArrays) -> CandleArrays:
    return CandleArrays(*(np.concatenate((first.column(name), second.column(name))) for name in COLUMNS))


def _fetch(*, market: Market, timeframe: str, since: int | None, limit: int, backfill: int | None) -> CandleArrays:
    """Up to `limit` closed candles from the exchange from `since`, starting no more than `backfill` candles
    back when given; caches the forming candle the same requests returned."""
    fetched = public_adapter(market.exchange).fetch_candles(
        market.symbol, timeframe, since=since, limit=limit, backfill=backfill
    )
    market_services.market_live_store(
        market=market, timeframe=timeframe, forming=fetched.forming, seen_at=timezone.now()
    )
    return fetched.closed


def failure_reason(exc: errors.AdapterError) -> str:
    """A feed's stop reason for an exchange failure, in plain words."""
    if isinstance(exc, errors.RateLimited):
        return RATE_LIMITED
    if isinstance(exc, errors.ExchangeUnavailable):
        return UNREACHABLE
    if isinstance(exc, errors.InvalidOrder):
        return UNKNOWN_SYMBOL
    return f"exchange error: {exc}"


# --- the scheduled collection -----------------------------------------------------------------------


@dataclass(frozen=True)
class CollectedSeries:
    market: Market
    timeframe: str


def live_price_exchanges() -> set[str]:
    """The exchanges some account needs live prices from: it trades there (testnet, live) or is a paper
    account on live prices."""
    accounts = ExchangeAccount.objects.exclude(
        mode=ExchangeAccount.Mode.PAPER, price_source=ExchangeAccount.PriceSource.REPLAY
    )
    return set(accounts.values_list("exchange", flat=True))


def collected_series() -> list[CollectedSeries]:
    """What collection fetches, the least recently ticked feed first (one that never ticked, first of all),
    so that a tick cut short by its time budget starts next time where it stopped."""
    exchanges = live_price_exchanges()
    if not exchanges:
        return []
    followed = followed_series()
    markets = Market.objects.in_bulk({pk for pk, _timeframe in followed})
    ticked = {
        (feed["market_id"], feed["timeframe"]): feed["updated_at"]
        for feed in MarketFeed.objects.filter(source=MarketFeed.Source.EXCHANGE).values(
            "market_id", "timeframe", "updated_at"
        )
    }
    series = [
        CollectedSeries(markets[pk], timeframe)
        for pk, timeframe in followed
        if pk in markets and markets[pk].exchange in exchanges
    ]
    never = datetime.min.replace(tzinfo=UTC)
    return sorted(series, key=lambda s: ticked.get((s.market.pk, s.timeframe)) or never)


def exchange_feeds_collect() -> list[FeedTick]:
    """One tick of every collected series (registered with apps.market.collection, run by collect_market_data).

    Bounded: no feed starts after MARKET_DATA_TICK_SECONDS, and an exchange that was unreachable or rate
    limiting is not asked again in this tick (its remaining feeds stop with the same reason)."""
    deadline = time.monotonic() + settings.MARKET_DATA_TICK_SECONDS
    down: dict[str, str] = {}
    ticks: list[FeedTick] = []
    for series in collected_series():
        if time.monotonic() > deadline:
            logger.warning("Collection ran out of time; the remaining feeds go first next tick")
            break
        ticks.append(_series_tick(series, down=down))
    return ticks


def _series_tick(series: CollectedSeries, *, down: dict[str, str]) -> FeedTick:
    market, timeframe = series.market, series.timeframe
    exchange = market.exchange
    if exchange in down:
        return feed_stop(market=market, timeframe=timeframe, source=ExchangeSource(), reason=down[exchange])
    try:
        tick = exchange_feed_advance(market=market, timeframe=timeframe)
    except Exception as exc:
        # One broken series must not starve the others, and the pages must say why it stands still.
        logger.exception("The %s %s exchange feed failed", market.symbol, timeframe)
        reason = f"error: {str(exc) or type(exc).__name__}"
        return feed_stop(market=market, timeframe=timeframe, source=ExchangeSource(), reason=reason)
    if tick.state == State.STOPPED and tick.reason in (UNREACHABLE, RATE_LIMITED):
        down[exchange] = tick.reason
    return tick
