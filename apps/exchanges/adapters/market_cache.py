"""The markets an exchange listed, kept per (exchange, sandbox) for this process (pure; no Django).

Every trade plan builds a new account adapter (factory.adapter_for_account); without this each one would
request the exchange's whole market list again (Binance exchangeInfo, Gate contracts) before its first order.
An adapter built with this cache takes the markets another adapter of the same exchange and mode loaded, and
loads them itself only when there are none or they are older than the TTL; an explicit load_markets (the
hourly market sync, sync_markets) always asks the exchange and refreshes the entry.

Only public market descriptions are kept here, never keys: the keys stay in the adapter that was built with
them, so a key rotation or an account edit takes effect on the next adapter as before. Sandbox markets are
kept apart from production ones (a testnet lists other contracts and limits).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

MARKETS_TTL_S = 3600.0  # the hourly sync refreshes them in the process that runs it; other processes expire them


@dataclass(frozen=True)
class LoadedMarkets:
    """ccxt's `markets` and `currencies` as one client loaded them, for another client's `set_markets`."""

    markets: Mapping[str, Any]
    currencies: Mapping[str, Any] | None
    loaded_at: float  # the cache's clock


class MarketCache:
    """Thread-safe: workers' threads build adapters concurrently."""

    def __init__(self, *, ttl_s: float = MARKETS_TTL_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, bool], LoadedMarkets] = {}

    def get(self, exchange_id: str, *, sandbox: bool) -> LoadedMarkets | None:
        """The markets loaded for this exchange and mode, or None when there are none or they expired."""
        with self._lock:
            entry = self._entries.get((exchange_id, sandbox))
        if entry is None or self._clock() - entry.loaded_at >= self.ttl_s:
            return None
        return entry

    def put(
        self, exchange_id: str, *, sandbox: bool, markets: Mapping[str, Any], currencies: Mapping[str, Any] | None
    ) -> LoadedMarkets:
        entry = LoadedMarkets(markets=markets, currencies=currencies, loaded_at=self._clock())
        with self._lock:
            self._entries[(exchange_id, sandbox)] = entry
        return entry

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


# The process's cache, shared by the account adapters (factory) and the public clients (pool).
markets = MarketCache()
