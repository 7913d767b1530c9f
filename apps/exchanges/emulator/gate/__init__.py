"""Gate futures v4 dialect (USDT-settled perpetuals): the subset of endpoints ccxt's ``gate`` uses for swaps.

Sizes on the wire are whole contracts (``quanto_multiplier`` base units each), signed: positive buys,
negative sells. ccxt sends ``X-Gate-Size-Decimal: 1``; the answer then carries sizes as strings.
Conditional orders are Gate "price-triggered orders" under ``/futures/usdt/price_orders``.
"""

from __future__ import annotations

from apps.exchanges.emulator.gate.base import gate_signature
from apps.exchanges.emulator.gate.dialect import GateDialect

__all__ = ["GateDialect", "gate_signature"]
