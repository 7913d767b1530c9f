"""One keyless ccxt client per exchange per process, for public market data (candles, tickers, markets).

    adapter = public_adapter("binanceusdm")    # the same object on every call in this process

Public market data needs no keys, so every account of an exchange, whatever its mode, reads prices through
the same client: ccxt's own rate limiter then paces every market-data request this process sends to that
exchange, and the markets are loaded once instead of once per caller (and shared with live accounts'
adapters through market_cache; they expire after its TTL, and the hourly market sync refreshes them).
Candles come from the exchange's production endpoints, also for testnet accounts (a testnet's candles are
thin and often stale).

Tests aim these clients at the emulator with factory.override_client, like account adapters; a client
built inside an override is dropped when the override ends, so it never leaks into the next test.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from apps.exchanges.adapters import factory, market_cache
from apps.exchanges.adapters.retry import RetryPolicy

if TYPE_CHECKING:
    from apps.exchanges.adapters.ccxt_adapter import CcxtAdapter

_lock = threading.Lock()
_public: dict[str, CcxtAdapter] = {}
_built_in_generation = 0


def public_adapter(exchange_id: str) -> CcxtAdapter:
    """The process's keyless adapter for `exchange_id` (built on first use)."""
    global _built_in_generation
    with _lock:
        if _built_in_generation != factory.override_generation():
            _public.clear()
            _built_in_generation = factory.override_generation()
        adapter = _public.get(exchange_id)
        if adapter is None:
            adapter = _public[exchange_id] = _build(exchange_id)
        return adapter


def public_adapters_reset() -> None:
    """Forget every pooled client (the next call builds a new one)."""
    with _lock:
        _public.clear()


def _build(exchange_id: str) -> CcxtAdapter:
    from apps.exchanges.adapters.ccxt_adapter import CcxtAdapter  # lazy: ccxt is heavy (see factory)

    options: dict[str, Any] = {"enable_rate_limit": True, "retry": RetryPolicy()}
    options.update(factory.adapter_options())
    return CcxtAdapter(exchange_id, configure=factory.client_hook(), market_cache=market_cache.markets, **options)
