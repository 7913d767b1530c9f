"""The stream engine's database side: what it streams goes through the REST collector's entry point.

Closed candles are handed to `collect.exchange_feed_advance(pushed=...)`, the one storing path: it stores
those that follow the feed's horizon (validated like every stored candle, once: the unique key and
insert-ignore), backfills through REST what lies between the horizon and the first pushed candle, and
announces them (candles_released), exactly as for polled candles. The forming candle and the last price
go to the `market` cache. Runs on the engine's one database thread.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from django.db import close_old_connections
from django.utils import timezone

from apps.exchanges.collect import collected_series, exchange_feed_advance
from apps.exchanges.streaming.engine import Row, Series
from apps.market import services as market_services
from apps.market.arrays import CandleArrays
from apps.market.models import Market


class CollectorSink:
    def __init__(self) -> None:
        self._markets: dict[int, Market] = {}

    def series(self, *, exchange: str | None) -> list[Series]:
        # A long-running process: drop a connection the database closed (or one past CONN_MAX_AGE).
        close_old_connections()
        collected = [s for s in collected_series() if exchange in (None, s.market.exchange)]
        self._markets = {s.market.pk: s.market for s in collected}
        return [
            Series(exchange=s.market.exchange, symbol=s.market.symbol, timeframe=s.timeframe, market_id=s.market.pk)
            for s in collected
        ]

    def closed(self, *, series: Series, rows: list[Row]) -> None:
        pushed = CandleArrays.from_rows(np.array(rows, dtype=np.float64))
        exchange_feed_advance(market=self._market(series), timeframe=series.timeframe, pushed=pushed)

    def poll(self, *, series: Series) -> None:
        exchange_feed_advance(market=self._market(series), timeframe=series.timeframe)

    def forming(self, *, series: Series, row: Row) -> None:
        forming = CandleArrays.from_rows(np.array([row], dtype=np.float64))
        market_services.market_live_store(
            market=self._market(series), timeframe=series.timeframe, forming=forming, seen_at=timezone.now()
        )

    def last_price(self, *, series: Series, price: float) -> None:
        market_services.market_last_price_store(
            market=self._market(series), price=Decimal(repr(float(price))), at=timezone.now()
        )

    def _market(self, series: Series) -> Market:
        market = self._markets.get(series.market_id)
        if market is None:
            market = self._markets[series.market_id] = Market.objects.get(pk=series.market_id)
        return market
