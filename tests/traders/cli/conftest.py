"""A testnet account whose ccxt client talks to the local exchange emulator (Binance USDⓈ-M), with a trader
to send orders through: what `manage.py orders` and `positions` meet on a real testnet."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from apps.exchanges.adapters import factory
from apps.exchanges.emulator import ExchangeEmulator, testing
from apps.exchanges.models import ExchangeAccount
from apps.exchanges.services import exchange_account_create, market_sync_from_exchange
from apps.market.models import Market
from apps.traders.models import RiskProfile, Trader
from tests.traders.trading.conftest import emulated

emulator_factory = testing.emulator_factory

SYMBOL = "BTC/USDT:USDT"
TESTNET = "Binance testnet"
PRICE = Decimal(28000)


@dataclass
class Testnet:
    emu: ExchangeEmulator
    account: ExchangeAccount
    market: Market
    trader: Trader

    def open_orders(self) -> list[Any]:
        """What the exchange itself holds open (not TradeOps' records)."""
        return [order for order in self.emu.orders() if order.is_open]


@pytest.fixture
def testnet(emulator_factory, settings, db) -> Iterator[Testnet]:
    settings.ORDER_ID_PREFIX = "to"
    emu = emulator_factory("binanceusdm")
    emu.set_price(SYMBOL, PRICE)
    with emulated(emu):
        account = exchange_account_create(
            name=TESTNET,
            exchange="binanceusdm",
            mode=ExchangeAccount.Mode.TESTNET,
            default_leverage=2,
            secrets={"api_key": emu.api_key, "api_secret": emu.api_secret},
        )
        market = market_sync_from_exchange(
            exchange="binanceusdm", rules=factory.adapter_for_account(account).rules(SYMBOL)
        )
        profile = RiskProfile.objects.create(
            name="Testnet", symbol_cooldown_seconds=0, max_order_notional=Decimal(5000)
        )
        trader = Trader.objects.create(name="Testnet desk", account=account, risk_profile=profile)
        yield Testnet(emu=emu, account=account, market=market, trader=trader)
