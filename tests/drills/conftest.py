"""A trader on a testnet account whose ccxt client talks to the local exchange emulator, with one candle
released on the exchange feed whose close is below the strategy's entry level: every first cycle on it
enters long (a market entry, then a stop-loss and a take-profit on the exchange).

``drill_desk`` builds it (binanceusdm), ``DrillDesk.reset()`` puts the emulator and the desk back to the
moment before the cycle, so one test can run the same cycle many times (the randomised drills)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from apps.audit.models import DecisionLog
from apps.exchanges.adapters import factory
from apps.exchanges.emulator import ExchangeEmulator, testing
from apps.exchanges.models import ExchangeAccount
from apps.exchanges.services import exchange_account_create, market_sync_from_exchange
from apps.market.candles_io import ms_to_datetime
from apps.market.models import Market, MarketFeed
from apps.market.services import candle_series_import
from apps.strategies.models import Strategy
from apps.traders.models import Alert, Execution, PlanEvent, RiskProfile, TradePlan, Trader
from apps.traders.services import trader_create, trader_start
from tests.conftest import skip_unless_ci
from tests.market.helpers import HOUR, START_MS, series_of
from tests.traders.trading.conftest import emulated

SYMBOL = "BTC/USDT:USDT"
PRICE = Decimal("28000")
ENTRY_BELOW = 28500  # the strategy enters long when a 1h candle closes below this
SPEC = {
    "timeframe": "1h",
    "markets": [SYMBOL],
    "entry": {"long": {"left": "close", "op": "<", "right": ENTRY_BELOW}},
    "exit": {"long": {"left": "close", "op": ">", "right": 40000}},
}
BARS = 30  # enough history for the strategy; the last one is the entry candle

emulator = testing.emulator


def needs_postgresql(what: str) -> None:
    """Skip on SQLite (in CI, where PostgreSQL is the database, fail instead: a drill must never pass as a skip)."""
    if connection.vendor != "postgresql":
        skip_unless_ci(f"needs PostgreSQL ({what}); this run uses {connection.vendor}")


@dataclass
class DrillDesk:
    emu: ExchangeEmulator
    account: ExchangeAccount
    market: Market
    trader: Trader

    def reset(self) -> None:
        """The emulator's account flat and empty, no plan, decision or alert: as before the first cycle."""
        self.emu.reset()
        self.emu.set_price(SYMBOL, PRICE)
        for model in (PlanEvent, Execution, Alert, DecisionLog, TradePlan):
            model.objects.all().delete()
        Trader.objects.filter(pk=self.trader.pk).update(status=Trader.Status.RUNNING, consecutive_failures=0)

    def release_candle(self, index: int, close: float = 29000.0) -> None:
        """Store candle `index` (after the BARS first ones) and release it on the exchange feed, as collection does."""
        open_ms = START_MS + (BARS - 1 + index) * HOUR
        candle_series_import(
            market=self.market,
            timeframe="1h",
            series=series_of([[open_ms, close, close + 10, close - 10, close, 1.0]]),
            source="exchange",
        )
        MarketFeed.objects.filter(market=self.market, source=MarketFeed.Source.EXCHANGE).update(
            horizon=ms_to_datetime(open_ms)
        )

    def unwire(self, client_id: str) -> str:
        return client_id.removeprefix("t-") if self.emu.exchange == "gate" else client_id

    def order_counts(self) -> Counter[str]:
        """client order id -> how many orders the exchange holds with it (a triggered stop's child left out)."""
        return Counter(self.unwire(order.client_id) for order in self.emu.orders())

    def position(self) -> Decimal:
        position = self.emu.engine.positions.get(SYMBOL)
        return position.qty if position is not None else Decimal(0)


def _store_candles(market: Market) -> None:
    rows = [[START_MS + i * HOUR, 29000.0, 29010.0, 28990.0, 29000.0, 1.0] for i in range(BARS - 1)]
    rows.append([START_MS + (BARS - 1) * HOUR, 29000.0, 29010.0, 27990.0, 28000.0, 1.0])
    candle_series_import(market=market, timeframe="1h", series=series_of(rows), source="exchange")
    last = rows[-1][0]
    MarketFeed.objects.create(
        market=market, timeframe="1h", source=MarketFeed.Source.EXCHANGE, horizon=ms_to_datetime(int(last))
    )


@pytest.fixture
def drill_desk(emulator: ExchangeEmulator, operator: Any) -> Iterator[DrillDesk]:
    emulator.set_price(SYMBOL, PRICE)
    with emulated(emulator):
        account = exchange_account_create(
            name=f"drill {emulator.exchange}",
            exchange=emulator.exchange,
            mode=ExchangeAccount.Mode.TESTNET,
            default_leverage=2,
            secrets={"api_key": emulator.api_key, "api_secret": emulator.api_secret},
        )
        market = market_sync_from_exchange(
            exchange=account.exchange, rules=factory.adapter_for_account(account).rules(SYMBOL)
        )
        _store_candles(market)
        profile = RiskProfile.objects.create(
            name="drill profile", symbol_cooldown_seconds=0, max_order_notional=Decimal(5000)
        )
        trader = trader_create(
            name="drill trader",
            account=account,
            risk_profile=profile,
            strategy=Strategy.objects.create(name="drill dip", spec=SPEC),
            markets=[market.pk],
            sizing="fixed",
            sizing_pct=Decimal(10),
            stop_loss="percent",
            stop_loss_value=Decimal(5),
            take_profit="percent",
            take_profit_value=Decimal(5),
        )
        trader_start(trader=trader, user=operator)
        yield DrillDesk(emu=emulator, account=account, market=market, trader=trader)
