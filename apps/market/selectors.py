from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.db import connection
from django.db.models import Q, QuerySet

from apps.market.arrays import CandleArrays
from apps.market.models import Candle, CandleImport, CandleSeriesStats, Market
from apps.market.timeframes import TIMEFRAME_MS

ORDERINGS = ("symbol", "-symbol", "exchange", "-exchange", "updated_at", "-updated_at")
# Seconds since the epoch as an integer; the one expression these raw queries cannot write
# portably (SQLite stores datetimes as text, PostgreSQL as timestamptz).
EPOCH_SECONDS_SQL = {
    "sqlite": "CAST(strftime('%%s', {column}) AS INTEGER)",
    "postgresql": "CAST(EXTRACT(EPOCH FROM {column}) AS BIGINT)",
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


def market_get(*, exchange: str, symbol: str) -> Market | None:
    return Market.objects.filter(exchange=exchange, symbol=symbol).first()


def market_symbols(*, exchange: str) -> list[str]:
    return list(Market.objects.filter(exchange=exchange).order_by("symbol").values_list("symbol", flat=True))


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

    One raw query with the conversion done by the database (epoch milliseconds, float8), because
    building a Decimal and a datetime per value would dominate a backtest over a year of bars.
    """
    vendor = connection.vendor
    epoch_ms = EPOCH_SECONDS_SQL[vendor].format(column="open_time") + " * 1000"
    price = "CAST({} AS DOUBLE PRECISION)" if vendor == "postgresql" else "{}"
    columns = ", ".join(price.format(name) for name in ("open", "high", "low", "close", "volume"))
    sql = f"SELECT {epoch_ms}, {columns} FROM {Candle._meta.db_table} WHERE market_id = %s AND timeframe = %s"
    params: list[object] = [market.pk, timeframe]
    if start is not None:
        sql += " AND open_time >= %s"
        params.append(connection.ops.adapt_datetimefield_value(start))
    if end is not None:
        sql += " AND open_time < %s"
        params.append(connection.ops.adapt_datetimefield_value(end))
    with connection.cursor() as cursor:
        cursor.execute(sql + " ORDER BY open_time", params)
        rows = cursor.fetchall()
    return CandleArrays.from_rows(np.array(rows, dtype=np.float64) if rows else np.empty((0, 6)))
