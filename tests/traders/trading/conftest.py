"""Trade plans on a testnet account whose ccxt client talks to the local exchange emulator.

``desk`` (parametrised over binanceusdm and gate through ``emulator``) gives an account with keys, the
BTC/USDT:USDT market synced from the emulator, a trader, and ``desk.plan()``: a previewed and executed plan
(market entry + stop-loss + take-profit) left pending, because the task that would process it is captured
instead of run, so each test drives ``trade_plan_process`` itself. Adapters built inside the fixture's
lifetime point ccxt at the emulator with short timeouts and fast retries.

What the exchange holds is read from the emulator's engine (``desk.exchange_orders``), not from TradeOps'
database: "exactly one order" is a statement about the exchange.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from apps.exchanges.adapters import factory
from apps.exchanges.adapters.retry import RetryPolicy
from apps.exchanges.emulator import ExchangeEmulator, testing
from apps.exchanges.emulator.engine import Order as EngineOrder
from apps.exchanges.models import ExchangeAccount
from apps.exchanges.services import exchange_account_create, market_sync_from_exchange
from apps.exchanges.tasks import process_paper_orders
from apps.market.models import Market
from apps.traders.models import RiskProfile, TradePlan, Trader
from apps.traders.services.plans import PlanInput, trade_plan_execute, trade_plan_preview
from tests.exchanges.paper.helpers import release
from tests.traders.trading.test_api import client_for, setup_paper_trader
from tests.traders.trading.test_pages import HTMX, preview, url

# The shared fixtures; assigned rather than imported so that fixtures below may take them as arguments.
emulator = testing.emulator
emulator_factory = testing.emulator_factory

SYMBOL = "BTC/USDT:USDT"
PRICE = Decimal("28000")
STOP = Decimal("27000")
TARGET = Decimal("29000")
QUANTITY = Decimal("0.01")
FAST_RETRY = RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02)
ORDER_PATHS = {
    "binanceusdm": {"order": "/fapi/v1/order", "protective": "/fapi/v1/algoOrder"},
    "gate": {"order": "/api/v4/futures/usdt/orders", "protective": "/api/v4/futures/usdt/price_orders"},
}


class WorkerDied(BaseException):
    """The process running the state machine is gone (killed, OOM, power cut): nothing after it runs,
    except `finally` blocks, which a real dead process would not run either."""


def emulated(emu: ExchangeEmulator, **options: Any):
    """Adapters built inside the block talk to `emu` (no rate limiter, 2 s timeouts, fast retries)."""
    adapter_options: dict[str, Any] = {"enable_rate_limit": False, "timeout_ms": 2000, "retry": FAST_RETRY}
    adapter_options.update(options)
    return testing.aimed_at(emu, **adapter_options)


@dataclass
class Desk:
    emu: ExchangeEmulator
    account: ExchangeAccount
    market: Market
    trader: Trader
    enqueued: list[tuple[Any, ...]] = field(default_factory=list)

    @property
    def exchange(self) -> str:
        return self.emu.exchange

    def path(self, kind: str) -> str:
        """The emulator path of the order ("order") or protective order ("protective") endpoint."""
        return ORDER_PATHS[self.exchange][kind]

    def plan(
        self,
        *,
        quantity: Decimal = QUANTITY,
        stop_loss: Decimal | None = STOP,
        take_profit: Decimal | None = TARGET,
    ) -> TradePlan:
        """A market buy with its protection, previewed and executed: pending, not processed yet."""
        preview = trade_plan_preview(
            plan=PlanInput(
                trader_id=self.trader.pk,
                symbol=SYMBOL,
                side="buy",
                quantity=quantity,
                stop_loss=stop_loss,
                take_profit=take_profit,
            ),
            user=None,
        )
        assert preview.status == TradePlan.Status.PREVIEWED, preview.status_reason
        plan = trade_plan_execute(plan_id=preview.pk, user=None)
        assert plan.status == TradePlan.Status.PENDING, plan.status_reason
        return plan

    # --- what the exchange holds ------------------------------------------------------------------------
    def unwire(self, client_id: str) -> str:
        return client_id.removeprefix("t-") if self.exchange == "gate" else client_id

    def exchange_orders(self, plan: TradePlan | None = None) -> list[EngineOrder]:
        """Orders submitted to the exchange (a triggered stop's own market order left out), for `plan`'s
        client ids when given."""
        orders = self.emu.orders()
        if plan is None:
            return orders
        prefix = f"to-{plan.pk}-"
        return [o for o in orders if self.unwire(o.client_id).startswith(prefix)]

    def order_counts(self, plan: TradePlan) -> Counter[str]:
        """How many orders the exchange holds per client id of the plan."""
        return Counter(self.unwire(o.client_id) for o in self.exchange_orders(plan))

    def assert_exactly_once(self, plan: TradePlan, *, protected: bool = True, position: Decimal | None = None) -> None:
        """One entry, and (when `protected`) one open stop-loss and one open take-profit, nothing else; the
        exchange's position is the plan's quantity (or `position`, when someone else traded too)."""
        expected = {f"to-{plan.pk}-en1": 1}
        if protected:
            expected |= {f"to-{plan.pk}-sl1": 1, f"to-{plan.pk}-tp1": 1}
        assert dict(self.order_counts(plan)) == expected
        if protected:
            conditional = [o for o in self.exchange_orders(plan) if o.conditional]
            assert sorted((o.type.value, o.is_open, o.trigger_price) for o in conditional) == [
                ("STOP_MARKET", True, STOP),
                ("TAKE_PROFIT_MARKET", True, TARGET),
            ]
        held = self.emu.engine.positions[SYMBOL].qty
        assert held == (plan.quantity if position is None else position)  # the entry filled once, not twice

    def order_posts(self) -> list[str]:
        """The paths of the order-placing requests the exchange processed. A request whose answer a fault
        replaced is recorded twice, processed (2xx/4xx) then as the client saw it (0 or 5xx): counted once."""
        paths = {self.path("order"), self.path("protective")}
        return [r.path for r in self.emu.requests if r.method == "POST" and r.path in paths and 0 < r.status < 500]


def kill_lease(plan: TradePlan, *, owner: str = "dead-worker", seconds: int = 60) -> None:
    """Leave the plan leased the way a dead worker leaves it: the in-process `finally` released it,
    a killed process would not have."""
    until = timezone.now() + timedelta(seconds=seconds)
    TradePlan.objects.filter(pk=plan.pk).update(lease_owner=owner, lease_until=until)


def expire_lease(plan: TradePlan) -> None:
    TradePlan.objects.filter(pk=plan.pk).update(lease_until=timezone.now() - timedelta(seconds=1))


def status_of(plan: TradePlan) -> str:
    return TradePlan.objects.values_list("status", flat=True).get(pk=plan.pk)


@pytest.fixture
def desk(emulator: ExchangeEmulator, monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[Desk]:
    settings.ORDER_ID_PREFIX = "to"  # the tests spell client order ids out: to-<plan>-<leg><attempt>
    enqueued: list[tuple[Any, ...]] = []
    # The executed plan's task is captured, not run: each test decides who processes the plan, and when.
    monkeypatch.setattr(
        "apps.traders.services.plans.async_task", lambda *args, **kwargs: enqueued.append(args), raising=True
    )
    emulator.set_price(SYMBOL, PRICE)
    with emulated(emulator):
        account = exchange_account_create(
            name=f"emulated {emulator.exchange}",
            exchange=emulator.exchange,
            mode=ExchangeAccount.Mode.TESTNET,
            default_leverage=2,
            secrets={"api_key": emulator.api_key, "api_secret": emulator.api_secret},
        )
        adapter = factory.adapter_for_account(account)
        market = market_sync_from_exchange(exchange=account.exchange, rules=adapter.rules(SYMBOL))
        profile = RiskProfile.objects.create(
            name=f"profile {emulator.exchange}", symbol_cooldown_seconds=0, max_order_notional=Decimal(5000)
        )
        trader = Trader.objects.create(name=f"trader {emulator.exchange}", account=account, risk_profile=profile)
        yield Desk(emu=emulator, account=account, market=market, trader=trader, enqueued=enqueued)


@pytest.fixture
def completed_plan(operator, django_capture_on_commit_callbacks) -> TradePlan:
    """On the paper exchange (not the emulator): a plan previewed and executed at bar 0 (20,000) and
    closed by its 21,000 take-profit at bar 2."""
    trader, feed = setup_paper_trader()
    plan = preview(trader, operator)
    with django_capture_on_commit_callbacks(execute=True):
        client_for(operator).post(url("plan_execute", plan), {"confirmation": ""}, headers=HTMX)
    release(feed, 2)
    process_paper_orders()
    plan.refresh_from_db()
    assert plan.status == "completed"
    return plan
