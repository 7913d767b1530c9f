"""Fixtures for the emulator's own tests.

``emulator`` (parametrised over binanceusdm and gate) and ``emulator_factory`` come from
``apps.exchanges.emulator.testing``; another test package gets them with the same import in its conftest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import ccxt
import pytest

from apps.exchanges.emulator import Candle, ExchangeEmulator, testing
from apps.exchanges.emulator.testing import EXCHANGES

# The shared fixtures; assigned rather than imported so that fixtures below may take them as arguments.
emulator = testing.emulator
emulator_factory = testing.emulator_factory

SYMBOL = "BTC/USDT:USDT"
MINUTE = 60_000
START = 1_679_004_900_000


@dataclass(frozen=True)
class Venue:
    """What differs between the two exchanges for a ccxt caller: units of ``amount`` and client ids."""

    exchange: str

    @property
    def is_gate(self) -> bool:
        return self.exchange == "gate"

    def amount(self, base_qty: str | Decimal) -> float:
        # Gate's ccxt amounts are contracts of 0.0001 BTC; Binance's are BTC.
        qty = Decimal(str(base_qty))
        return float(qty / Decimal("0.0001")) if self.is_gate else float(qty)

    def cid(self, name: str) -> str:
        # Gate requires custom texts to start with "t-"; ccxt adds it for plain orders but not for price orders.
        return f"t-{name}" if self.is_gate else name


@pytest.fixture
def venue(emulator: ExchangeEmulator) -> Venue:
    return Venue(emulator.exchange)


@pytest.fixture
def client(emulator: ExchangeEmulator) -> ccxt.Exchange:
    exchange = emulator.ccxt_client()
    exchange.load_markets()
    return exchange


@pytest.fixture(params=EXCHANGES)
def exchange_name(request: pytest.FixtureRequest) -> str:
    return request.param


def scripted_candles(*rows: tuple[str, str, str, str], flat: str = "30000", history: int = 50) -> list[Candle]:
    """``history`` flat candles at ``flat``, then the given (open, high, low, close) candles, one minute apart."""
    price = Decimal(flat)
    candles = [Candle(START + i * MINUTE, price, price, price, price, Decimal(100)) for i in range(history)]
    for offset, (o, h, low, c) in enumerate(rows):
        t = START + (history + offset) * MINUTE
        candles.append(Candle(t, Decimal(o), Decimal(h), Decimal(low), Decimal(c), Decimal(100)))
    return candles


@pytest.fixture
def scripted(
    exchange_name: str, emulator_factory: Callable[..., ExchangeEmulator]
) -> Callable[..., tuple[ExchangeEmulator, ccxt.Exchange, Venue]]:
    """Start an emulator whose BTC candles are scripted; the clock sits on the last flat candle."""

    def start(*rows: tuple[str, str, str, str], **options: object) -> tuple[ExchangeEmulator, ccxt.Exchange, Venue]:
        candles = scripted_candles(*rows)
        emu = emulator_factory(exchange_name, candles={SYMBOL: candles}, history=49, **options)
        exchange = emu.ccxt_client()
        exchange.load_markets()
        return emu, exchange, Venue(exchange_name)

    return start
