"""Scripted candles and paper accounts for the paper exchange tests."""

from __future__ import annotations

import bisect
from datetime import datetime
from decimal import Decimal

from apps.exchanges.models import ExchangeAccount
from apps.market.candles_io import datetime_to_ms, ms_to_datetime
from apps.market.models import Market, MarketFeed
from apps.market.replay import CandleSource, Release
from apps.market.services import candle_series_import
from tests.factories import MarketFactory
from tests.market.helpers import HOUR, START_MS, series_of

SYMBOL = "BTC/USDT:USDT"


def paper_account(*, name: str = "paper", leverage: int = 1, balance: str = "10000", **fields) -> ExchangeAccount:
    return ExchangeAccount.objects.create(
        name=name,
        exchange=fields.pop("exchange", "binanceusdm"),
        mode=ExchangeAccount.Mode.PAPER,
        paper_starting_balance=Decimal(balance),
        default_leverage=leverage,
        **fields,
    )


def store_bars(bars: list[tuple[float, float, float, float]], *, market=None, timeframe: str = "1h"):
    """Store (open, high, low, close) bars an hour apart from tests.market.helpers.START, and a
    replay feed released up to the first bar. Returns (market, feed)."""
    market = market or MarketFactory()
    rows = [[START_MS + i * HOUR, o, h, low, c, 1.0] for i, (o, h, low, c) in enumerate(bars)]
    candle_series_import(market=market, timeframe=timeframe, series=series_of(rows), source="test")
    feed = MarketFeed.objects.create(
        market=market, timeframe=timeframe, source=MarketFeed.Source.REPLAY, horizon=bar_time(0)
    )
    return market, feed


def bar_time(index: int):
    return ms_to_datetime(START_MS + index * HOUR)


def release(feed: MarketFeed, index: int) -> None:
    """Move the replay horizon to bar `index` (what apps.market.replay does on each tick)."""
    feed.horizon = bar_time(index)
    feed.save(update_fields=["horizon"])


def flat(price: float) -> tuple[float, float, float, float]:
    return (price, price + 10, price - 10, price)


class RecordedExchange(CandleSource):
    """The exchange as live collection sees it, played from recorded [open ms, o, h, l, c, v] rows:
    each tick stores the next closed candle and releases it on the market's `exchange` feed, as the
    collector does (apps.market.replay.feed_advance(source=RecordedExchange(rows)) sends
    candles_released with source "exchange")."""

    kind = MarketFeed.Source.EXCHANGE

    def __init__(self, rows: list[list[float]]) -> None:
        self.rows = rows
        self.times = [int(row[0]) for row in rows]

    def release(self, *, market: Market, timeframe: str, horizon: datetime | None) -> Release:
        index = 0 if horizon is None else bisect.bisect_right(self.times, datetime_to_ms(horizon))
        if index == len(self.rows):
            return Release(horizon)
        candle_series_import(
            market=market, timeframe=timeframe, series=series_of(self.rows[index : index + 1]), source="exchange"
        )
        return Release(ms_to_datetime(self.times[index]))
