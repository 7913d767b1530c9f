from __future__ import annotations

from collections.abc import Callable

import pytest

from apps.exchanges.adapters.ccxt_adapter import CcxtAdapter
from apps.exchanges.adapters.retry import RetryPolicy
from apps.exchanges.emulator import ExchangeEmulator, testing

# The shared fixtures; assigned rather than imported so that fixtures below may take them as arguments.
emulator = testing.emulator
emulator_factory = testing.emulator_factory

SYMBOL = "BTC/USDT:USDT"
FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05)


def make_adapter(emu: ExchangeEmulator, **overrides: object) -> CcxtAdapter:
    options: dict[str, object] = {
        "api_key": emu.api_key,
        "secret": emu.api_secret,
        "enable_rate_limit": False,
        "timeout_ms": 3000,
        "retry": FAST_RETRY,
        "configure": lambda client: testing.configure_ccxt_client(client, emu),
    }
    options.update(overrides)
    return CcxtAdapter(emu.exchange, **options)  # type: ignore[arg-type]


@pytest.fixture
def adapter(emulator: ExchangeEmulator) -> CcxtAdapter:
    built = make_adapter(emulator)
    built.load_markets()
    return built


@pytest.fixture
def adapter_factory() -> Callable[..., CcxtAdapter]:
    return make_adapter
