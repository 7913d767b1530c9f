"""A local exchange emulator (Binance USDⓈ-M futures, Gate USDT futures, Binance spot) for tests and demos.

Pure Python, no Django. By hand (from the repository root)::

    python -m apps.exchanges.emulator --exchange binanceusdm --port 8900 --api-key K --api-secret S \
        --candles ../shared/data/ohlcv/binance_BTCUSDT_1m_2023-03-16_2023-05-01.freqtrade.json

then drive it over ``/_emulator/...`` (state, advance, price, faults, reset, requests). From tests, use
:class:`ExchangeEmulator` or the pytest fixtures in ``testing.py``. Never point production code at it.

Modules: ``engine`` (orders, fills, positions, margin; exchange-neutral), ``candles`` (the price feed),
``spot_engine`` (balances instead of positions, for Binance spot), ``markets`` (contract specs, leverage tiers),
``faults``, ``binance`` (USDⓈ-M; ``binance.spot`` is the /api/v3 dialect) and ``gate`` (the wire dialects),
``server`` (HTTP), ``emulator`` (ties them together), ``testing`` (ccxt client and pytest fixtures).
"""

from __future__ import annotations

from apps.exchanges.emulator.candles import Candle, PriceFeed, load_freqtrade_json, synthetic_candles
from apps.exchanges.emulator.emulator import ExchangeEmulator
from apps.exchanges.emulator.engine import Engine, EngineError, Order, OrderStatus, OrderType, Reason, Side
from apps.exchanges.emulator.faults import Fault, FaultInjector, FaultKind

__all__ = [
    "Candle",
    "Engine",
    "EngineError",
    "ExchangeEmulator",
    "Fault",
    "FaultInjector",
    "FaultKind",
    "Order",
    "OrderStatus",
    "OrderType",
    "PriceFeed",
    "Reason",
    "Side",
    "load_freqtrade_json",
    "synthetic_candles",
]
