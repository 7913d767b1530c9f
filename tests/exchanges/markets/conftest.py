from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager

import pytest

from apps.exchanges.emulator import ExchangeEmulator, testing
from tests.exchanges.adapters.conftest import FAST_RETRY

# The shared fixtures; assigned rather than imported so that fixtures below may take them as arguments.
emulator = testing.emulator
emulator_factory = testing.emulator_factory

MARKETS_PATHS = ("/fapi/v1/exchangeInfo", "/api/v3/exchangeInfo", "/api/v4/futures/usdt/contracts")


def emulated(emu: ExchangeEmulator) -> AbstractContextManager[None]:
    """Every adapter built inside (account adapters and the pooled public clients) talks to `emu`."""
    return testing.aimed_at(emu, enable_rate_limit=False, timeout_ms=3000, retry=FAST_RETRY)


def market_loads(emu: ExchangeEmulator) -> int:
    """How many times the exchange's market list was requested (Binance exchangeInfo, Gate contracts)."""
    return sum(record.path in MARKETS_PATHS for record in emu.requests)


@pytest.fixture
def on_emulator(emulator: ExchangeEmulator) -> Iterator[ExchangeEmulator]:
    with emulated(emulator):
        yield emulator
