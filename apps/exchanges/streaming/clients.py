"""ccxt.pro clients for the stream engine: keyless, ccxt's rate limiter on, one per exchange per engine.

Tests aim them at the emulator (its websocket front included) with factory.override_client, like every
other ccxt client in TradeOps.
"""

from __future__ import annotations

from typing import Any

from apps.exchanges.adapters import factory


def pro_client(exchange: str) -> Any:
    import ccxt.pro  # lazy: ccxt is heavy (see adapters.factory)

    client = getattr(ccxt.pro, exchange)({"enableRateLimit": True})
    if exchange == "gate":
        client.options["defaultType"] = "swap"
    elif exchange == "binance":
        client.options["defaultType"] = "spot"
    hook = factory.client_hook()
    if hook is not None:
        hook(client)
    return client
