"""Binance USDⓈ-M futures (fapi) dialect: the subset of REST endpoints ccxt's ``binanceusdm`` uses.

Conditional orders follow Binance's algo-order migration (2025-12): STOP_MARKET / TAKE_PROFIT_MARKET / STOP /
TAKE_PROFIT go to ``/fapi/v1/algoOrder`` and are refused on ``/fapi/v1/order`` with -4120, which is what
ccxt 4.5.90 expects (it routes conditional orders to the algo endpoints).
"""

from __future__ import annotations

from apps.exchanges.emulator.binance.base import binance_signature
from apps.exchanges.emulator.binance.dialect import BinanceDialect

__all__ = ["BinanceDialect", "binance_signature"]
