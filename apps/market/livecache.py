"""The newest market data that is not a stored candle: each collected series' forming candle and each
market's last trade price, kept in the `market` cache (shared by the worker and the web processes) for
pages, marks and previews. Collection writes them (services.market_live_store), selectors read them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.core.cache import BaseCache, caches

CACHE_ALIAS = "market"
# Long enough to outlive a few missed ticks, short enough that a stopped feed's price does not pass for live.
TTL_SECONDS = 15 * 60


@dataclass(frozen=True)
class FormingCandle:
    """The candle still forming on the exchange, as last seen at `seen_at` (wall clock, UTC)."""

    open_time: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    seen_at: datetime


@dataclass(frozen=True)
class LastPrice:
    price: Decimal
    at: datetime


def market_cache() -> BaseCache:
    return caches[CACHE_ALIAS]


def forming_key(market_id: int, timeframe: str) -> str:
    return f"forming:{market_id}:{timeframe}"


def last_price_key(market_id: int) -> str:
    return f"last:{market_id}"
