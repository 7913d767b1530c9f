"""Account adapters reuse the markets another adapter of the same exchange and mode loaded
(apps.exchanges.adapters.market_cache), counted as the emulator's exchangeInfo / contracts requests."""

from __future__ import annotations

import pytest

from apps.exchanges.adapters import factory, market_cache
from apps.exchanges.adapters.ccxt_adapter import CcxtAdapter
from apps.exchanges.adapters.market_cache import MarketCache
from apps.exchanges.adapters.pool import public_adapter
from apps.exchanges.emulator import ExchangeEmulator
from apps.exchanges.models import ExchangeAccount
from apps.exchanges.services import exchange_account_create
from apps.traders.services.execution import trade_plan_process
from apps.traders.services.plans import PlanStatus
from tests.exchanges.markets.conftest import market_loads
from tests.traders.trading.conftest import Desk, desk  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db
SYMBOL = "BTC/USDT:USDT"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def account(emu: ExchangeEmulator, mode: str) -> ExchangeAccount:
    return exchange_account_create(
        name=f"{mode} {emu.exchange}",
        exchange=emu.exchange,
        mode=mode,
        secrets={"api_key": emu.api_key, "api_secret": emu.api_secret},
    )


def adapter(account: ExchangeAccount) -> CcxtAdapter:
    built = factory.adapter_for_account(account)
    assert isinstance(built, CcxtAdapter)
    return built


def test_two_plans_in_a_row_load_the_markets_once(desk: Desk) -> None:  # noqa: F811 (the fixture)
    # The fixture synced the market through an adapter of its own: that was the one load.
    assert market_loads(desk.emu) == 1

    for _ in range(2):
        plan = desk.plan()
        assert trade_plan_process(plan_id=plan.pk) == PlanStatus.PROTECTION_PLACED

    assert market_loads(desk.emu) == 1
    assert len(desk.exchange_orders()) == 6  # both plans reached the exchange: entry, stop and target each


def test_a_new_adapter_takes_the_loaded_markets_and_the_keys_stay_its_own(on_emulator: ExchangeEmulator) -> None:
    testnet = account(on_emulator, ExchangeAccount.Mode.TESTNET)
    first, second = adapter(testnet), adapter(testnet)

    first.fetch_balance()
    assert first.rules(SYMBOL).symbol == SYMBOL
    assert second.rules(SYMBOL) == first.rules(SYMBOL)
    second.fetch_positions()

    assert market_loads(on_emulator) == 1
    assert second.client.markets is not first.client.markets  # ccxt copied them in set_markets
    cached = market_cache.markets.get(on_emulator.exchange, sandbox=True)
    assert cached is not None and on_emulator.api_secret not in repr(vars(cached))


def test_testnet_and_live_markets_are_kept_apart_and_live_shares_the_public_clients(
    on_emulator: ExchangeEmulator,
) -> None:
    adapter(account(on_emulator, ExchangeAccount.Mode.TESTNET)).rules(SYMBOL)
    assert market_loads(on_emulator) == 1

    public_adapter(on_emulator.exchange).load_markets()  # as sync_markets and the hourly refresh do
    assert market_loads(on_emulator) == 2
    adapter(account(on_emulator, ExchangeAccount.Mode.LIVE)).rules(SYMBOL)
    assert market_loads(on_emulator) == 2


def test_markets_older_than_the_ttl_are_loaded_again(
    on_emulator: ExchangeEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    monkeypatch.setattr(market_cache, "markets", MarketCache(ttl_s=3600, clock=clock))
    testnet = account(on_emulator, ExchangeAccount.Mode.TESTNET)
    held = adapter(testnet)
    held.rules(SYMBOL)

    clock.now += 3599
    adapter(testnet).rules(SYMBOL)
    assert market_loads(on_emulator) == 1

    clock.now += 1
    adapter(testnet).rules(SYMBOL)
    assert market_loads(on_emulator) == 2
    # A long-lived adapter (the pooled public clients are) takes the fresher markets without a request.
    held.rules(SYMBOL)
    assert market_loads(on_emulator) == 2


def test_an_override_forgets_the_shared_markets(on_emulator: ExchangeEmulator) -> None:
    adapter(account(on_emulator, ExchangeAccount.Mode.TESTNET)).rules(SYMBOL)
    assert market_cache.markets.get(on_emulator.exchange, sandbox=True) is not None

    with factory.override_client(lambda client: client):
        assert market_cache.markets.get(on_emulator.exchange, sandbox=True) is None
