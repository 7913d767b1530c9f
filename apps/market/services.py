from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper

from apps.core.errors import ServiceValidationError
from apps.market.arrays import CandleArrays
from apps.market.candles_io import CandleSeries, Gap, datetime_to_ms, find_gaps, ms_to_datetime
from apps.market.livecache import TTL_SECONDS, FormingCandle, LastPrice, forming_key, last_price_key, market_cache
from apps.market.models import SPOT_EXCHANGES, Candle, CandleImport, CandleSeriesStats, Market, MarketFeed
from apps.market.selectors import EPOCH_SECONDS_SQL
from apps.market.timeframes import timeframe_ms

EDITABLE_FIELDS = (
    "exchange",
    "symbol",
    "base",
    "quote",
    "type",
    "price_precision",
    "amount_precision",
    "min_amount",
    "min_notional",
    "max_leverage",
    "active",
    "notes",
)
# ccxt unified symbols: BASE/QUOTE for spot, BASE/QUOTE:SETTLE for swaps.
SYMBOL_PATTERN = re.compile(r"^(?P<base>[A-Z0-9]+)/(?P<quote>[A-Z0-9]+)(?::(?P<settle>[A-Z0-9]+))?$")
# Rows converted and written at a time: bounds memory on a 525,600-row import.
WRITE_BATCH_ROWS = 50_000
STAGING_TABLE = "market_candle_import_staging"
PGCOPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
PGCOPY_TRAILER = (-1).to_bytes(2, "big", signed=True)
PG_EPOCH_MS = 946_684_800_000  # 2000-01-01 UTC
CANDLE_KEY_COLUMNS = ("market", "timeframe", "open_time")
CANDLE_VALUE_COLUMNS = ("open", "high", "low", "close", "volume")


def market_validate(market: Market) -> None:
    expected_type = Market.Type.SPOT if market.exchange in SPOT_EXCHANGES else Market.Type.SWAP
    if market.type != expected_type:
        raise ServiceValidationError("type", f"markets on {market.exchange} are {expected_type}, not {market.type}")
    match = SYMBOL_PATTERN.match(market.symbol)
    if match is None:
        raise ServiceValidationError("symbol", "use the ccxt unified form BASE/QUOTE or BASE/QUOTE:SETTLE")
    if (match["settle"] is not None) != (market.type == Market.Type.SWAP):
        form = "BASE/QUOTE:SETTLE" if market.type == Market.Type.SWAP else "BASE/QUOTE"
        raise ServiceValidationError("symbol", f"{market.type} symbols look like {form}")
    if (market.base, market.quote) != (match["base"], match["quote"]):
        raise ServiceValidationError("base", f"base and quote must match the symbol: {match['base']}/{match['quote']}")
    if Market.objects.filter(exchange=market.exchange, symbol=market.symbol).exclude(pk=market.pk).exists():
        raise ServiceValidationError("symbol", f"{market.symbol} already exists on {market.exchange}")


@transaction.atomic
def market_create(
    *,
    exchange: str,
    symbol: str,
    base: str,
    quote: str,
    type: str,
    price_precision: Decimal,
    amount_precision: Decimal,
    min_amount: Decimal = Decimal(0),
    min_notional: Decimal = Decimal(0),
    max_leverage: int | None = None,
    active: bool = True,
    notes: str = "",
) -> Market:
    market = Market(
        exchange=exchange,
        symbol=symbol,
        base=base,
        quote=quote,
        type=type,
        price_precision=price_precision,
        amount_precision=amount_precision,
        min_amount=min_amount,
        min_notional=min_notional,
        max_leverage=max_leverage,
        active=active,
        notes=notes,
    )
    market_validate(market)
    market.save()
    # Callers (the API) show the stored values: decimals at the column's scale.
    market.refresh_from_db()
    return market


@transaction.atomic
def market_update(*, market: Market, changes: Mapping[str, Any]) -> Market:
    market = Market.objects.select_for_update().get(pk=market.pk)
    for field, value in changes.items():
        if field not in EDITABLE_FIELDS:
            raise ServiceValidationError(field, "is not an editable field")
        setattr(market, field, value)
    market_validate(market)
    market.save()
    # Callers (the API) show the stored values: decimals at the column's scale.
    market.refresh_from_db()
    return market


@transaction.atomic
def market_delete(*, market: Market) -> None:
    market.delete()


@dataclass(frozen=True)
class CandleImportResult:
    record: CandleImport
    gaps: list[Gap]
    created: int
    changed: int

    @property
    def unchanged(self) -> int:
        return self.record.rows - self.created - self.changed


@transaction.atomic
def candle_series_import(
    *,
    market: Market,
    timeframe: str,
    series: CandleSeries,
    source: str,
    created_by: AbstractBaseUser | None = None,
    synthetic: bool = False,
    progress: Callable[[int], None] | None = None,
) -> CandleImportResult:
    """Upsert `series` in one transaction: a re-import of the same rows changes nothing, a
    changed row is updated, and a failure leaves the table as it was.

    On SQLite the transaction holds the write lock throughout, which is why files are parsed
    and validated before this is called. `progress` receives the row count of each batch.
    """
    bars = Candle.objects.filter(market=market, timeframe=timeframe)
    before = bars.count()
    write = _copy_upsert if connection.vendor == "postgresql" else _insert_upsert
    written = 0
    with connection.cursor() as cursor:
        for start in range(0, len(series), WRITE_BATCH_ROWS):
            open_time_ms = series.open_time_ms[start : start + WRITE_BATCH_ROWS]
            ohlcv = series.ohlcv[start : start + WRITE_BATCH_ROWS]
            written += write(cursor, market_id=market.pk, timeframe=timeframe, open_time_ms=open_time_ms, ohlcv=ohlcv)
            if progress is not None:
                progress(len(open_time_ms))
    created = bars.count() - before
    gaps = find_gaps(series.open_time_ms, timeframe_ms=timeframe_ms(timeframe))
    record = CandleImport.objects.create(
        market=market,
        timeframe=timeframe,
        # An over-long path keeps its end, where the file name is.
        source=source[-CandleImport._meta.get_field("source").max_length :],
        format=series.format,
        rows=len(series),
        first_open_time=ms_to_datetime(series.open_time_ms[0]),
        last_open_time=ms_to_datetime(series.open_time_ms[-1]),
        gap_count=len(gaps),
        synthetic=synthetic,
        created_by=created_by,
    )
    candle_stats_refresh(market=market, timeframe=timeframe)
    return CandleImportResult(record=record, gaps=gaps, created=created, changed=written - created)


@transaction.atomic
def candle_series_delete(*, market: Market, timeframe: str) -> int:
    """Remove one timeframe's candles of a market, with their import records."""
    CandleImport.objects.filter(market=market, timeframe=timeframe).delete()
    CandleSeriesStats.objects.filter(market=market, timeframe=timeframe).delete()
    deleted, _by_model = Candle.objects.filter(market=market, timeframe=timeframe).delete()
    return deleted


BULK_WRITE_ROWS = 100_000


def candle_table_tidy(*, rows_written: int) -> bool:
    """After a bulk write on PostgreSQL, VACUUM (ANALYZE) the candle table now, as autovacuum
    would shortly after (insert-triggered since PostgreSQL 13): the first read of the new rows
    then does not pay for setting hint bits or plan with stale statistics. VACUUM cannot run in
    a transaction, so callers call this after their import has committed. Returns whether it ran.
    """
    if connection.vendor != "postgresql" or rows_written < BULK_WRITE_ROWS or connection.in_atomic_block:
        return False
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {Candle._meta.db_table}")
    return True


@transaction.atomic
def candle_stats_refresh(*, market: Market, timeframe: str) -> CandleSeriesStats | None:
    """Recount one series' coverage from its candles (after an import rewrote any part of it)."""
    epoch = EPOCH_SECONDS_SQL[connection.vendor].format(column="open_time")
    sql = f"""
        SELECT COUNT(*), MIN(t), MAX(t), SUM(CASE WHEN t - previous > %s THEN 1 ELSE 0 END)
        FROM (
            SELECT {epoch} AS t, LAG({epoch}) OVER (ORDER BY open_time) AS previous
            FROM {Candle._meta.db_table} WHERE market_id = %s AND timeframe = %s
        ) AS bars
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [timeframe_ms(timeframe) // 1000, market.pk, timeframe])
        bars, first, last, gaps = cursor.fetchone()
    if not bars:
        CandleSeriesStats.objects.filter(market=market, timeframe=timeframe).delete()
        return None
    stats, _created = CandleSeriesStats.objects.update_or_create(
        market=market,
        timeframe=timeframe,
        defaults={
            "first_open_time": ms_to_datetime(first * 1000),
            "last_open_time": ms_to_datetime(last * 1000),
            "bars": bars,
            "gaps": int(gaps or 0),
        },
    )
    return stats


@transaction.atomic
def candle_stats_extend(*, market: Market, timeframe: str, open_time_ms: np.ndarray) -> CandleSeriesStats | None:
    """Account for bars just appended after the series' last bar without rescanning it; any
    other shape of write (a bar inside the range, no stats yet) falls back to a full refresh."""
    stats = CandleSeriesStats.objects.select_for_update().filter(market=market, timeframe=timeframe).first()
    times = np.asarray(open_time_ms, dtype=np.int64)
    if stats is None or len(times) == 0 or times[0] <= datetime_to_ms(stats.last_open_time):
        return candle_stats_refresh(market=market, timeframe=timeframe)
    joined = np.concatenate(([datetime_to_ms(stats.last_open_time)], times))
    stats.bars += len(times)
    stats.gaps += len(find_gaps(joined, timeframe_ms=timeframe_ms(timeframe)))
    stats.last_open_time = ms_to_datetime(int(times[-1]))
    stats.save(update_fields=["bars", "gaps", "last_open_time", "updated_at"])
    return stats


@transaction.atomic
def candles_append(*, market: Market, timeframe: str, candles: CandleArrays) -> int:
    """Store validated candles that follow the series, ignoring any bar already stored (the unique key
    decides; a stored bar is never rewritten); keep the series' stats current. Returns the bars stored.

    For live collection, which appends a few bars a minute: no CandleImport row (one per tick would be
    noise), and no staging table or COPY, which pay off only for large imports."""
    rows = [
        Candle(
            market=market,
            timeframe=timeframe,
            open_time=ms_to_datetime(int(open_time)),
            open=Decimal(repr(open_)),
            high=Decimal(repr(high)),
            low=Decimal(repr(low)),
            close=Decimal(repr(close)),
            volume=Decimal(repr(volume)),
        )
        for open_time, open_, high, low, close, volume in zip(
            candles.open_time.tolist(),
            candles.open.tolist(),
            candles.high.tolist(),
            candles.low.tolist(),
            candles.close.tolist(),
            candles.volume.tolist(),
            strict=True,
        )
    ]
    if not rows:
        return 0
    bars = Candle.objects.filter(market=market, timeframe=timeframe)
    before = bars.count()
    Candle.objects.bulk_create(rows, ignore_conflicts=True)
    candle_stats_extend(market=market, timeframe=timeframe, open_time_ms=candles.open_time)
    return bars.count() - before


@transaction.atomic
def market_follow(*, market: Market, timeframe: str, follow: bool = True) -> MarketFeed:
    """An operator follows (or stops following) one market and timeframe: live collection fetches it from
    the exchange whatever strategies and traders use. Stopping keeps the feed and its candles."""
    feed, _created = MarketFeed.objects.select_for_update().get_or_create(
        market=market, timeframe=timeframe, source=MarketFeed.Source.EXCHANGE
    )
    if feed.operator_follow != follow:
        feed.operator_follow = follow
        feed.save(update_fields=["operator_follow", "updated_at"])
    return feed


def market_live_store(*, market: Market, timeframe: str, forming: CandleArrays, seen_at: datetime) -> None:
    """Cache the forming candle (the last row of `forming`) and its close as the market's last price."""
    if not len(forming):
        return
    last = forming.slice(len(forming) - 1, len(forming))
    candle = FormingCandle(
        open_time=ms_to_datetime(int(last.open_time[0])),
        open=Decimal(repr(float(last.open[0]))),
        high=Decimal(repr(float(last.high[0]))),
        low=Decimal(repr(float(last.low[0]))),
        close=Decimal(repr(float(last.close[0]))),
        volume=Decimal(repr(float(last.volume[0]))),
        seen_at=seen_at,
    )
    market_cache().set(forming_key(market.pk, timeframe), candle, TTL_SECONDS)
    market_last_price_store(market=market, price=candle.close, at=seen_at)


def market_last_price_store(*, market: Market, price: Decimal, at: datetime) -> None:
    """Cache the market's last trade price (a stream's ticker, or a forming candle's close)."""
    market_cache().set(last_price_key(market.pk), LastPrice(price=price, at=at), TTL_SECONDS)


def _columns(names: tuple[str, ...]) -> list[str]:
    return [connection.ops.quote_name(Candle._meta.get_field(name).column) for name in names]


def _on_conflict_sql() -> str:
    table = connection.ops.quote_name(Candle._meta.db_table)
    values = _columns(CANDLE_VALUE_COLUMNS)
    # The WHERE skips rows whose values are already stored: an idempotent re-import writes
    # nothing (no dead tuples on PostgreSQL) and rowcount counts only new or changed bars.
    return (
        f"ON CONFLICT ({', '.join(_columns(CANDLE_KEY_COLUMNS))}) "
        f"DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in values)} "
        f"WHERE {' OR '.join(f'{table}.{c} <> excluded.{c}' for c in values)}"
    )


def _insert_upsert(
    cursor: CursorWrapper, *, market_id: int, timeframe: str, open_time_ms: np.ndarray, ohlcv: np.ndarray
) -> int:
    """SQLite: INSERT ... ON CONFLICT through executemany (one statement, compiled once).

    The floats go in as they are: SQLite keeps a numeric column's values as REAL, and that REAL
    is the float itself (a Decimal would be adapted to text, then parsed back to the same REAL).
    Open times are written as Django writes them on SQLite, naive UTC text: aligned open times
    are whole minutes, so numpy's ISO text without the "T" is exactly that text.
    """
    table = connection.ops.quote_name(Candle._meta.db_table)
    columns = _columns(CANDLE_KEY_COLUMNS + CANDLE_VALUE_COLUMNS)
    open_times = np.char.replace(
        np.datetime_as_string(open_time_ms.astype("datetime64[ms]"), unit="s"), "T", " "
    ).tolist()
    params = [
        (market_id, timeframe, open_time, *values) for open_time, values in zip(open_times, ohlcv.tolist(), strict=True)
    ]
    cursor.executemany(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))}) " + _on_conflict_sql(),
        params,
    )
    return cursor.rowcount


def _copy_upsert(
    cursor: CursorWrapper, *, market_id: int, timeframe: str, open_time_ms: np.ndarray, ohlcv: np.ndarray
) -> int:
    """PostgreSQL: binary COPY into a temporary table, then one INSERT ... SELECT ... ON CONFLICT.

    Django's psycopg cursors bind parameters client-side, so multi-row INSERTs of 525,600 rows
    took 66 s; COPY takes a fraction of that. The COPY payload is built by numpy in one go.
    float8::text is the shortest text that round-trips the float (PostgreSQL 12+ with
    extra_float_digits 1, the default, set here so a server setting cannot change it), so the
    numeric column receives the decimal the file had: 4261.48, not 4261.479999999999563...
    """
    table = connection.ops.quote_name(Candle._meta.db_table)
    values = _columns(CANDLE_VALUE_COLUMNS)
    cursor.execute("SET LOCAL extra_float_digits = 1")
    cursor.execute(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {STAGING_TABLE} "
        f"(open_time timestamp, {', '.join(f'{c} float8' for c in values)}) ON COMMIT DROP"
    )
    cursor.execute(f"TRUNCATE {STAGING_TABLE}")
    with cursor.copy(f"COPY {STAGING_TABLE} FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(_pgcopy_binary(open_time_ms, ohlcv))
    key_columns = _columns(CANDLE_KEY_COLUMNS)
    cursor.execute(
        f"INSERT INTO {table} ({', '.join(key_columns + values)}) "
        f"SELECT %s, %s, open_time AT TIME ZONE 'UTC', {', '.join(f'{c}::text::numeric' for c in values)} "
        f"FROM {STAGING_TABLE} " + _on_conflict_sql(),
        [market_id, timeframe],
    )
    return cursor.rowcount


def _pgcopy_binary(open_time_ms: np.ndarray, ohlcv: np.ndarray) -> bytes:
    """PostgreSQL's binary COPY format for rows (timestamp, float8 x 5): per row a field count,
    then each field's byte length and big-endian value; timestamps are microseconds since 2000."""
    fields = [("count", ">i2"), ("time_length", ">i4"), ("time", ">i8")]
    for index in range(ohlcv.shape[1]):
        fields += [(f"length{index}", ">i4"), (f"value{index}", ">f8")]
    rows = np.empty(len(open_time_ms), dtype=np.dtype(fields))
    rows["count"] = 1 + ohlcv.shape[1]
    rows["time_length"] = 8
    rows["time"] = (open_time_ms - PG_EPOCH_MS) * 1000
    for index in range(ohlcv.shape[1]):
        rows[f"length{index}"] = 8
        rows[f"value{index}"] = ohlcv[:, index]
    return PGCOPY_HEADER + rows.tobytes() + PGCOPY_TRAILER
