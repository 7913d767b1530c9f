"""Helpers for tests that drive the emulator with the real ccxt client.

Reuse the fixtures from any test package by naming them in its conftest::

    # tests/<app>/conftest.py
    from apps.exchanges.emulator import testing

    emulator = testing.emulator  # parametrised over "binanceusdm" and "gate"
    emulator_factory = testing.emulator_factory  # emulator_factory("gate", candles=..., taker_fee=...)

(Assigning rather than importing keeps ruff quiet when fixtures in the same conftest take them as
arguments.) Narrow ``emulator`` to one exchange with
``@pytest.mark.parametrize("emulator", ["gate"], indirect=True)``. Each test gets a fresh server on a free
127.0.0.1 port, stopped afterwards. ``emulator.ccxt_client()`` returns a synchronous ccxt client that is
already pointed at it (see :func:`configure_ccxt_client` for what that takes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import ccxt

from apps.exchanges.emulator.emulator import EmulatorAddress, ExchangeEmulator

if TYPE_CHECKING:
    import pytest

EXCHANGES = ("binanceusdm", "gate")  # the futures dialects (the ``emulator`` fixture's parameters)
SPOT_EXCHANGES = ("binance",)


def configure_ccxt_client(client: ccxt.Exchange, emulator: ExchangeEmulator | EmulatorAddress) -> ccxt.Exchange:
    """Point a ccxt client at the emulator (this process's, or another's by its address: the
    EXCHANGE_EMULATOR_URL setting) and switch off what would leave 127.0.0.1 or slow tests down."""
    urls = emulator.ccxt_urls()
    if emulator.exchange == "binance":
        # Binance spot: as for USDⓈ-M, every api url goes to the emulator (unmapped ones 404 there).
        client.urls["api"] = {key: urls.get(key, f"{emulator.url}/unmapped/{key}") for key in client.urls["api"]}
        # ccxt's defaults stay on (fetchMarkets types spot/linear/inverse, fetchCurrencies, fetchMargins): the
        # dialect answers the futures exchangeInfo and the sapi currency/margin lists with nothing.
        client.options["defaultType"] = "spot"
        # ccxt picks the error table by URL host (api.binance.com -> "spot"); 127.0.0.1 matches none.
        client.get_exceptions_by_url = lambda url, kind: client.safe_dict(client.exceptions["spot"], kind, {})
    elif emulator.exchange == "binanceusdm":
        # Every api url goes to the emulator, so a call the emulator lacks fails loudly as a 404 and
        # nothing can ever reach binance.com.
        client.urls["api"] = {key: urls.get(key, f"{emulator.url}/unmapped/{key}") for key in client.urls["api"]}
        # fetchCurrencies would call sapi/capital/config/getall on load_markets(); USDⓈ-M needs none of it.
        client.options["fetchCurrencies"] = False
        # ccxt picks Binance's error table by URL host (fapi.binance.com -> "linear"); a 127.0.0.1 URL
        # matches none, which would turn -2019 "Margin is insufficient" into a plain ExchangeError.
        client.get_exceptions_by_url = lambda url, kind: client.safe_dict(client.exceptions["linear"], kind, {})
        if emulator.streams is not None:  # a ccxt.pro client streams from the emulator's websocket front
            client.urls["api"]["ws"] = {"linear": f"{emulator.streams.url}/ws"}
    else:
        client.urls["api"] = urls
        client.options["defaultType"] = "swap"
        client.options["fetchMarkets"] = {"types": ["swap"]}
        client.options["swap"] = {"fetchMarkets": {"settlementCurrencies": ["usdt"]}}
        client.options["unifiedAccount"] = False
    return client


def make_ccxt_client(emulator: ExchangeEmulator, **config: Any) -> ccxt.Exchange:
    """A synchronous ccxt client with the emulator's keys, no client-side rate limiting, short timeouts."""
    settings: dict[str, Any] = {
        "apiKey": emulator.api_key,
        "secret": emulator.api_secret,
        "enableRateLimit": False,
        "timeout": 5000,
    }
    options = config.pop("options", {})
    settings.update(config)
    client_class = {"binanceusdm": ccxt.binanceusdm, "binance": ccxt.binance}.get(emulator.exchange, ccxt.gate)
    client = configure_ccxt_client(client_class(settings), emulator)
    client.options.update(options)
    return client


@contextmanager
def aimed_at(emulator: ExchangeEmulator, **adapter_options: Any) -> Iterator[None]:
    """Every ccxt client TradeOps builds inside the block (account adapters, the pooled public clients,
    ccxt.pro's) talks to `emulator`; `adapter_options` as factory.override_client takes them."""
    from apps.exchanges.adapters import factory  # lazy: the emulator itself runs without Django

    with factory.override_client(lambda client: configure_ccxt_client(client, emulator), **adapter_options):
        yield


@contextmanager
def running_emulator(exchange: str = "binanceusdm", **options: Any) -> Iterator[ExchangeEmulator]:
    emulator = ExchangeEmulator(exchange, **options).start()
    try:
        yield emulator
    finally:
        emulator.stop()


def _emulator_fixture(request: pytest.FixtureRequest) -> Iterator[ExchangeEmulator]:
    with running_emulator(getattr(request, "param", "binanceusdm")) as emulator:
        yield emulator


def _factory_fixture() -> Iterator[Callable[..., ExchangeEmulator]]:
    started: list[ExchangeEmulator] = []

    def start(exchange: str = "binanceusdm", **options: Any) -> ExchangeEmulator:
        emulator = ExchangeEmulator(exchange, **options).start()
        started.append(emulator)
        return emulator

    try:
        yield start
    finally:
        for emulator in started:
            emulator.stop()


def _make_fixtures() -> tuple[Any, Any]:
    try:
        import pytest
    except ImportError:  # the package runs without pytest too (python -m apps.exchanges.emulator)
        return None, None
    emulator_fixture = pytest.fixture(params=EXCHANGES, name="emulator")(_emulator_fixture)
    factory_fixture = pytest.fixture(name="emulator_factory")(_factory_fixture)
    return emulator_fixture, factory_fixture


emulator, emulator_factory = _make_fixtures()
