from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np
from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone
from psycopg import sql as pg_sql

from apps.market.arrays import COLUMNS, CandleArrays
from apps.market.livecache import FormingCandle, LastPrice, forming_key, last_price_key, market_cache
from apps.market.models import Candle, CandleImport, CandleSeriesStats, Market, MarketFeed
from apps.market.timeframes import TIMEFRAME_MS

ORDERINGS = ("symbol", "-symbol", "exchange", "-exchange", "updated_at", "-updated_at")
# Seconds since the epoch as an integer; the one expression these raw queries cannot write
# portably (SQLite stores datetimes as text, PostgreSQL as timestamptz).
# The fastest forms over a year of bars: unixepoch() (SQLite 3.38+) beats strftime('%s') by a
# third, and date_part() (float8) beats EXTRACT (numeric since PostgreSQL 14) by a quarter.
EPOCH_SECONDS_SQL = {
    "sqlite": "unixepoch({column})",
    "postgresql": "CAST(date_part('epoch', {column}) AS BIGINT)",
}


@dataclass(frozen=True)
class Coverage:
    """What is stored for one market and timeframe, and where the latest import came from."""

    market_id: int
    timeframe: str
    first_open_time: datetime
    last_open_time: datetime
    bars: int
    gaps: int
    source: str | None
    synthetic: bool

    @property
    def source_name(self) -> str | None:
        """The file name of a path, for display."""
        return self.source.rsplit("/", 1)[-1] if self.source else None


def market_list(
    *,
    exchange: str | None = None,
    type: str | None = None,
    active: bool | None = None,
    search: str | None = None,
    ordering: str = "symbol",
) -> QuerySet[Market]:
    markets = Market.objects.all()
    if exchange:
        markets = markets.filter(exchange=exchange)
    if type:
        markets = markets.filter(type=type)
    if active is not None:
        markets = markets.filter(active=active)
    if search:
        markets = markets.filter(Q(symbol__icontains=search) | Q(base__icontains=search))
    primary = ordering if ordering in ORDERINGS else "symbol"
    return markets.order_by(primary, "exchange", "symbol")


def replay_clock(*, market: Market) -> datetime | None:
    """The market's time on the replay: the open time of the newest candle a replay feed of it has
    released (what the paper exchange prices at). None when the market is not replayed."""
    feeds = MarketFeed.objects.filter(market=market, source=MarketFeed.Source.REPLAY, horizon__isnull=False)
    return feeds.order_by("-horizon").values_list("horizon", flat=True).first()


def feed_horizon(*, market: Market, timeframe: str, source: str | None = None) -> datetime | None:
    """Open time of the newest candle released to live use on this market and timeframe: by the feed
    of `source` (a MarketFeed.Source), or by whichever feed is furthest when no source is given."""
    feeds = MarketFeed.objects.filter(market=market, timeframe=timeframe, horizon__isnull=False)
    if source is not None:
        feeds = feeds.filter(source=source)
    return feeds.order_by("-horizon").values_list("horizon", flat=True).first()


def market_last_price(*, market: Market) -> tuple[Decimal, datetime] | None:
    """The market's last trade price and when it was seen (wall clock), from live collection; None
    when the market is not collected or its price has expired from the cache."""
    cached: LastPrice | None = market_cache().get(last_price_key(market.pk))
    return (cached.price, cached.at) if cached is not None else None


def forming_candle(*, market: Market, timeframe: str) -> FormingCandle | None:
    """The candle still forming on the exchange, as collection last saw it; None when unknown."""
    return market_cache().get(forming_key(market.pk, timeframe))


@dataclass(frozen=True)
class FeedHealth:
    """How current a feed is, for pages and alerts.

    state: "live" (up to date: `last_candle`, closed `age` ago), "lagging" (`behind` closed candles are
    not stored yet; None when nothing was collected yet) or "stopped" (`reason` says why)."""

    state: str
    last_candle: datetime | None
    age: timedelta | None
    behind: int | None
    reason: str

    @property
    def text(self) -> str:
        """In plain words, e.g. "lagging: 5 candles behind" or "stopped: exchange unreachable"."""
        if self.state == FEED_STOPPED:
            return f"stopped: {self.reason}" if self.reason else "stopped"
        if self.state == FEED_LAGGING:
            return "lagging: nothing collected yet" if self.behind is None else f"lagging: {self.behind} candles behind"
        if self.last_candle is None:
            return "live"
        minutes = int(self.age.total_seconds() // 60) if self.age is not None else 0
        return f"live: last candle {self.last_candle:%Y-%m-%d %H:%M}, closed {minutes} min ago"


FEED_LIVE, FEED_LAGGING, FEED_STOPPED = "live", "lagging", "stopped"


def feed_behind(*, feed: MarketFeed, now: datetime | None = None) -> int | None:
    """Closed candles of an exchange feed not stored yet: those that closed more than
    MARKET_FEED_GRACE_SECONDS before `now` (a tick a minute cannot do better) and open after the horizon.
    None when nothing was collected yet; 0 for a replay, whose clock is simulated."""
    if feed.source == MarketFeed.Source.REPLAY:
        return 0
    if feed.horizon is None:
        return None
    step = timedelta(milliseconds=TIMEFRAME_MS[feed.timeframe])
    closed_by = (now or timezone.now()) - timedelta(seconds=settings.MARKET_FEED_GRACE_SECONDS)
    # The newest candle closed by then opened one step before its close.
    return max(0, (closed_by - feed.horizon - step) // step)


def feed_health(*, feed: MarketFeed, now: datetime | None = None) -> FeedHealth:
    """The feed's health at `now` (default: the wall clock)."""
    now = now or timezone.now()
    step = timedelta(milliseconds=TIMEFRAME_MS[feed.timeframe])
    age = now - (feed.horizon + step) if feed.horizon is not None else None
    behind = feed_behind(feed=feed, now=now)
    if feed.state != MarketFeed.State.RUNNING:
        return FeedHealth(FEED_STOPPED, feed.horizon, age, behind, feed.state_reason or feed.state)
    if behind is None or behind > 0:
        return FeedHealth(FEED_LAGGING, feed.horizon, age, behind, "")
    return FeedHealth(FEED_LIVE, feed.horizon, age, behind, "")


def market_get(*, exchange: str, symbol: str) -> Market | None:
    return Market.objects.filter(exchange=exchange, symbol=symbol).first()


def market_symbols(*, exchange: str | None = None) -> list[str]:
    """The stored symbols of one exchange, or of all (each symbol once)."""
    markets = Market.objects.filter(exchange=exchange) if exchange is not None else Market.objects.all()
    return list(markets.order_by("symbol").values_list("symbol", flat=True).distinct())


def market_exchanges() -> list[str]:
    """The exchanges that have at least one stored market."""
    return sorted(set(Market.objects.values_list("exchange", flat=True)))


def market_feed_list(
    *, exchange: str | None = None, source: str | None = None, market: Market | None = None
) -> QuerySet[MarketFeed]:
    """The feeds (of one exchange's markets, of one MarketFeed.Source, of one market, when given), by
    symbol, exchange and timeframe."""
    feeds = MarketFeed.objects.select_related("market")
    if market is not None:
        feeds = feeds.filter(market=market)
    if exchange:
        feeds = feeds.filter(market__exchange=exchange)
    if source:
        feeds = feeds.filter(source=source)
    return feeds.order_by("market__symbol", "market__exchange", "timeframe")


@dataclass(frozen=True)
class FeedRow:
    """A feed as the pages show it: its health (exchange feeds) or its replay state (replay feeds)."""

    feed: MarketFeed
    health: FeedHealth | None  # None for a replay: its clock is simulated, it cannot lag

    @property
    def state(self) -> str:
        """A CSS-friendly state: live, lagging or stopped for an exchange feed; running, paused or
        stopped for a replay."""
        return self.health.state if self.health is not None else self.feed.state

    @property
    def text(self) -> str:
        return self.health.text if self.health is not None else self.feed.state_text


def feed_rows(*, exchange: str | None = None, source: str | None = None, market: Market | None = None) -> list[FeedRow]:
    """Every feed (of one exchange, of one source, of one market, when given) with its health at one moment."""
    now = timezone.now()
    return [
        FeedRow(feed, None if feed.source == MarketFeed.Source.REPLAY else feed_health(feed=feed, now=now))
        for feed in market_feed_list(exchange=exchange, source=source, market=market)
    ]


def market_coverage(*, market_ids: Iterable[int]) -> dict[int, list[Coverage]]:
    """Per market id: one Coverage per stored timeframe, shortest timeframe first."""
    ids = list(market_ids)
    if not ids:
        return {}
    latest: dict[tuple[int, str], CandleImport] = {}
    for record in CandleImport.objects.filter(market_id__in=ids).order_by("created_at", "id"):
        latest[(record.market_id, record.timeframe)] = record
    coverage: dict[int, list[Coverage]] = defaultdict(list)
    for stats in CandleSeriesStats.objects.filter(market_id__in=ids):
        record = latest.get((stats.market_id, stats.timeframe))
        coverage[stats.market_id].append(
            Coverage(
                market_id=stats.market_id,
                timeframe=stats.timeframe,
                first_open_time=stats.first_open_time,
                last_open_time=stats.last_open_time,
                bars=stats.bars,
                gaps=stats.gaps,
                source=record.source if record else None,
                synthetic=record.synthetic if record else False,
            )
        )
    order = list(TIMEFRAME_MS)
    for entries in coverage.values():
        entries.sort(key=lambda entry: order.index(entry.timeframe))
    return dict(coverage)


def candle_arrays(
    *, market: Market, timeframe: str, start: datetime | None = None, end: datetime | None = None
) -> CandleArrays:
    """Stored candles in [start, end) as numpy columns, oldest first.

    The database converts open times to epoch milliseconds, and PostgreSQL's numeric prices are
    decoded from a binary COPY (apps.market.pgbinary), because a Decimal and a datetime per value
    would dominate a backtest over a year of bars.
    """
    vendor = connection.vendor
    epoch_ms = EPOCH_SECONDS_SQL[vendor].format(column="open_time") + " * 1000"
    columns = ", ".join(COLUMNS[1:])
    sql = f"SELECT {epoch_ms}, {columns} FROM {Candle._meta.db_table} WHERE market_id = %s AND timeframe = %s"
    params: list[object] = [market.pk, timeframe]
    if start is not None:
        sql += " AND open_time >= %s"
        params.append(connection.ops.adapt_datetimefield_value(start))
    if end is not None:
        sql += " AND open_time < %s"
        params.append(connection.ops.adapt_datetimefield_value(end))
    sql += " ORDER BY open_time"
    if vendor == "postgresql":
        return _copy_arrays(sql, params)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    flat = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.float64, count=len(rows) * len(COLUMNS))
    return CandleArrays.from_rows(flat)


def _copy_arrays(sql: str, params: list[object]) -> CandleArrays:
    with connection.cursor() as cursor:
        statement = pg_sql.SQL("COPY ({}) TO STDOUT (FORMAT BINARY)").format(
            pg_sql.SQL(sql.replace("%s", "{}")).format(*(pg_sql.Literal(value) for value in params))
        )
        # libpq hands a COPY over one row at a time; appending to one buffer is about twice as
        # fast as joining half a million small bytes objects.
        data = bytearray()
        with cursor.cursor.copy(statement) as copy:
            while chunk := copy.read():
                data += chunk
    # Imported here: it loads numba (and LLVM, ~100 MB), which web and worker processes that
    # never read a long series should not carry.
    from apps.market.pgbinary import decode_rows

    open_time, prices = decode_rows(np.frombuffer(data, dtype=np.uint8), len(COLUMNS))
    return CandleArrays(open_time, *(np.ascontiguousarray(prices[:, i]) for i in range(len(COLUMNS) - 1)))


def candle_window(*, market: Market, timeframe: str, limit: int, end: datetime | None = None) -> list[Candle]:
    """The newest `limit` stored candles opening at or before `end` (all stored when None), oldest first:
    what a chart draws. Bounded by `limit`, so a year of 1m bars is never read for a page."""
    candles = Candle.objects.filter(market=market, timeframe=timeframe)
    if end is not None:
        candles = candles.filter(open_time__lte=end)
    newest = candles.order_by("-open_time").only("open_time", "open", "high", "low", "close", "volume")[:limit]
    return list(reversed(newest))


def stored_timeframes(*, market: Market) -> list[str]:
    """The timeframes the market has candles of, shortest first."""
    stored = set(CandleSeriesStats.objects.filter(market=market).values_list("timeframe", flat=True))
    return [timeframe for timeframe in TIMEFRAME_MS if timeframe in stored]
