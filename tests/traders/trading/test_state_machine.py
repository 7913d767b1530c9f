"""The trade state machine on the paper exchange: every path a plan can take, what the exchange holds
afterwards, and the timeline an operator reads.

Prices: tests.exchanges.paper.helpers candles (1h, BTC/USDT:USDT, tick 0.1, step 0.001), 10,000 USDT,
risk profile 1 % per trade; a market buy fills at the released close plus 2 bps slippage."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from apps.exchanges.adapters.base import Order, OrderRequest, OrderStatus, OrderType, Side
from apps.exchanges.adapters.errors import ExchangeUnavailable, InvalidOrder
from apps.exchanges.adapters.paper import PaperAdapter
from apps.exchanges.hooks import OrderCancelRefused
from apps.exchanges.models import ExchangeAccount, PaperOrder
from apps.exchanges.services.accounts import order_cancel
from apps.exchanges.tasks import process_paper_orders
from apps.traders.models import Alert, Execution, PlanEvent, RiskProfile, TradePlan, Trader
from apps.traders.risk import HaltKind
from apps.traders.selectors import trader_halt_kind
from apps.traders.services import execution as engine
from apps.traders.services import kill_switch_engage
from apps.traders.services.errors import ExchangeUnreachable, TradeConflict, TradeRefused
from apps.traders.services.execution import InvalidTransition, plan_transition, trade_plan_process
from apps.traders.services.plans import (
    PlanInput,
    trade_plan_cancel,
    trade_plan_close,
    trade_plan_execute,
    trade_plan_preview,
)
from apps.traders.services.reconcile import account_reconcile
from tests.exchanges.paper.helpers import SYMBOL, flat, paper_account, release, store_bars

pytestmark = pytest.mark.django_db
Status = TradePlan.Status
# Bar 0 prices the entry; bar 1 is quiet; bar 2 reaches 21,100 (take-profit); bar 3 falls to 19,400 (stop).
BARS = [flat(20000), flat(20100), (20100, 21100, 20050, 21000), (21000, 21000, 19400, 19500)]


@pytest.fixture
def trader():
    profile = RiskProfile.objects.create(name="standard", symbol_cooldown_seconds=0)
    return Trader.objects.create(name="desk", account=paper_account(), risk_profile=profile)


@pytest.fixture
def feed():
    return store_bars(BARS)[1]


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run the task that execute/cancel/close enqueue (django-q2 is synchronous in tests)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def preview(trader: Trader, **fields) -> TradePlan:
    values = {"side": "buy", "stop_loss": D("19500"), "take_profit": D("21000"), **fields}
    return trade_plan_preview(plan=PlanInput(trader_id=trader.pk, symbol=SYMBOL, **values), user=None)


def execute(plan: TradePlan, run_on_commit) -> TradePlan:
    with run_on_commit():
        trade_plan_execute(plan_id=plan.pk, user=None)
    return TradePlan.objects.get(pk=plan.pk)


def timeline(plan: TradePlan) -> list[tuple[str, str]]:
    return [(e.from_status, e.to_status) for e in PlanEvent.objects.filter(plan=plan).exclude(from_status="")]


def paper_orders(plan: TradePlan) -> dict[str, str]:
    prefix = f"to-{plan.pk}-"
    return dict(PaperOrder.objects.filter(client_order_id__startswith=prefix).values_list("client_order_id", "status"))


def test_a_plan_goes_from_preview_to_protection_to_take_profit(trader, feed, run_on_commit):
    plan = preview(trader)
    # 1 % of 10,000 = 100 USDT risked over the 500 stop distance: 0.2 BTC.
    assert (plan.status, plan.quantity) == (Status.PREVIEWED, D("0.2"))
    assert not Execution.objects.exists()  # a preview sends nothing

    plan = execute(plan, run_on_commit)
    assert plan.status == Status.PROTECTION_PLACED
    assert plan.filled_quantity == D("0.2")
    assert plan.average_entry_price == D("20004")  # 20,000 + 2 bps
    assert paper_orders(plan) == {
        f"to-{plan.pk}-en1": "closed",
        f"to-{plan.pk}-sl1": "open",
        f"to-{plan.pk}-tp1": "open",
    }

    release(feed, 2)
    process_paper_orders()
    plan.refresh_from_db()
    assert (plan.status, plan.close_reason) == (Status.COMPLETED, TradePlan.CloseReason.TAKE_PROFIT)
    # The take-profit triggers at 21,000 and fills as a market sell with 2 bps slippage.
    assert plan.exit_price == D("20995.8")
    assert paper_orders(plan)[f"to-{plan.pk}-sl1"] == "canceled"  # the remaining stop is cancelled
    assert timeline(plan) == [
        (Status.PREVIEWED, Status.PENDING),
        (Status.PENDING, Status.ENTRY_FILLED),
        (Status.ENTRY_FILLED, Status.PROTECTION_PLACED),
        (Status.PROTECTION_PLACED, Status.COMPLETED),
    ]


def test_the_stop_loss_completes_the_plan_and_cancels_the_take_profit(trader, feed, run_on_commit):
    plan = execute(preview(trader, take_profit=D("22000")), run_on_commit)
    release(feed, 3)
    process_paper_orders()
    plan.refresh_from_db()
    assert (plan.status, plan.close_reason) == (Status.COMPLETED, TradePlan.CloseReason.STOP_LOSS)
    assert plan.exit_price == D("19496.1")  # 19,500 less 2 bps
    assert paper_orders(plan)[f"to-{plan.pk}-tp1"] == "canceled"
    assert not PaperAdapter(trader.account).fetch_positions()


def test_every_event_records_time_reason_and_exchange_reference(trader, feed, run_on_commit):
    plan = execute(preview(trader), run_on_commit)
    filled = PlanEvent.objects.get(plan=plan, to_status=Status.ENTRY_FILLED)
    entry = Execution.objects.get(plan=plan, leg=Execution.Leg.ENTRY)
    assert filled.exchange_ref == entry.exchange_order_id != ""
    assert filled.execution == entry
    assert "entry filled: 0.2 at 20004" in filled.reason
    assert filled.at is not None


def test_an_impossible_transition_raises_and_changes_nothing(trader, feed):
    plan = preview(trader)
    with pytest.raises(InvalidTransition, match="cannot go from previewed to completed"):
        plan_transition(plan=plan, to_status=Status.COMPLETED, reason="skip ahead")
    plan.refresh_from_db()
    assert plan.status == Status.PREVIEWED
    assert not PlanEvent.objects.filter(plan=plan, to_status=Status.COMPLETED).exists()


def test_the_kill_switch_stops_an_executed_plan_before_its_entry_is_sent(trader, feed, operator):
    plan = trade_plan_execute(plan_id=preview(trader).pk, user=None)  # task not run yet: still pending
    assert plan.status == Status.PENDING
    kill_switch_engage(user=operator, reason="exchange incident")
    assert trade_plan_process(plan_id=plan.pk) == Status.CANCELLED
    assert not PaperOrder.objects.exists()
    assert "trading halted (global)" in TradePlan.objects.get(pk=plan.pk).status_reason


def test_a_halted_trader_cannot_execute(trader, feed, operator):
    plan = preview(trader)
    kill_switch_engage(user=operator, reason="exchange incident")
    with pytest.raises(TradeRefused, match="trading halted: global"):
        trade_plan_execute(plan_id=plan.pk, user=None)
    plan.refresh_from_db()
    assert plan.status == Status.REJECTED
    assert not Execution.objects.exists()


def test_a_previewed_plan_executes_once(trader, feed, run_on_commit):
    plan = execute(preview(trader), run_on_commit)
    with pytest.raises(TradeConflict, match="only a preview can be executed"):
        trade_plan_execute(plan_id=plan.pk, user=None)
    assert Execution.objects.filter(plan=plan, leg=Execution.Leg.ENTRY).count() == 1


def test_an_expired_preview_is_not_executed(trader, feed):
    plan = preview(trader)
    TradePlan.objects.filter(pk=plan.pk).update(expires_at=plan.created_at)
    with pytest.raises(TradeConflict, match="expired"):
        trade_plan_execute(plan_id=plan.pk, user=None)
    assert TradePlan.objects.get(pk=plan.pk).status == Status.EXPIRED


def test_an_operator_closes_the_position_at_market(trader, feed, run_on_commit, operator):
    plan = execute(preview(trader), run_on_commit)
    release(feed, 1)
    with run_on_commit():
        trade_plan_close(plan=plan, user=operator)
    plan.refresh_from_db()
    assert (plan.status, plan.close_reason) == (Status.COMPLETED, TradePlan.CloseReason.EXIT)
    assert plan.exit_price == D("20095.98")  # 20,100 less 2 bps
    orders = paper_orders(plan)
    assert orders[f"to-{plan.pk}-ex1"] == "closed"
    assert orders[f"to-{plan.pk}-sl1"] == orders[f"to-{plan.pk}-tp1"] == "canceled"
    assert not PaperAdapter(trader.account).fetch_positions()


def test_a_resting_limit_entry_is_cancelled_on_request(trader, feed, run_on_commit, operator):
    plan = execute(preview(trader, order_type="limit", entry_price=D("19800")), run_on_commit)
    assert plan.status == Status.ENTRY_SUBMITTED
    with run_on_commit():
        trade_plan_cancel(plan=plan, user=operator)
    plan.refresh_from_db()
    assert plan.status == Status.CANCELLED
    assert paper_orders(plan) == {f"to-{plan.pk}-en1": "canceled"}


def test_a_limit_entry_fills_on_a_later_candle_then_gets_protection(trader, feed, run_on_commit):
    plan = execute(preview(trader, order_type="limit", entry_price=D("19600"), stop_loss=D("19100")), run_on_commit)
    assert plan.status == Status.ENTRY_SUBMITTED
    release(feed, 3)  # bar 3's low of 19,400 reaches the 19,600 limit
    process_paper_orders()
    plan.refresh_from_db()
    assert plan.status == Status.PROTECTION_PLACED
    assert (plan.filled_quantity, plan.average_entry_price) == (D("0.2"), D("19600"))


def test_a_refused_stop_loss_closes_the_position_and_fails_the_plan(trader, feed, run_on_commit, monkeypatch):
    def refuse(self, request):
        raise InvalidOrder("Order would immediately trigger")

    monkeypatch.setattr(PaperAdapter, "create_protective_order", refuse)
    plan = execute(preview(trader), run_on_commit)
    assert plan.status == Status.FAILED
    assert "refused the stop-loss" in plan.status_reason
    assert paper_orders(plan)[f"to-{plan.pk}-ex1"] == "closed"
    assert not PaperAdapter(trader.account).fetch_positions()
    kinds = set(Alert.objects.filter(plan=plan).values_list("kind", flat=True))
    assert kinds == {Alert.Kind.PROTECTION_FAILED, Alert.Kind.EXECUTION_FAILED}


def test_a_position_closed_outside_tradeops_completes_the_plan(trader, feed, run_on_commit):
    plan = execute(preview(trader), run_on_commit)
    adapter = PaperAdapter(trader.account)
    adapter.create_order(
        OrderRequest(symbol=SYMBOL, side=Side.SELL, type=OrderType.MARKET, amount=D("0.2"), client_order_id="manual-1")
    )
    assert trade_plan_process(plan_id=plan.pk) == Status.COMPLETED
    plan.refresh_from_db()
    assert plan.close_reason == TradePlan.CloseReason.EXTERNAL
    assert set(paper_orders(plan).values()) == {"closed", "canceled"}
    assert Alert.objects.filter(plan=plan, kind=Alert.Kind.POSITION_DRIFT).exists()


def test_a_stop_cancelled_on_the_exchange_is_replaced_by_reconciliation(trader, feed, run_on_commit):
    plan = execute(preview(trader), run_on_commit)
    stop = Execution.objects.get(plan=plan, leg=Execution.Leg.STOP_LOSS)
    PaperOrder.objects.filter(client_order_id=stop.client_order_id).update(status=PaperOrder.Status.CANCELED)

    account_reconcile(account=trader.account)

    replacement = Execution.objects.get(plan=plan, leg=Execution.Leg.STOP_LOSS, attempt=2)
    assert replacement.client_order_id == f"to-{plan.pk}-sl2"
    assert replacement.status == Execution.Status.OPEN
    assert paper_orders(plan)[f"to-{plan.pk}-sl2"] == "open"
    assert Alert.objects.filter(plan=plan, kind=Alert.Kind.PROTECTION_REPLACED).count() == 1
    assert TradePlan.objects.get(pk=plan.pk).status == Status.PROTECTION_PLACED


class PartialFills(PaperAdapter):
    """The paper exchange does not fill partially; this one answers a limit entry as 0.08 of 0.2
    filled, then, once cancelled, as cancelled with those 0.08 filled."""

    def create_order(self, request: OrderRequest) -> Order:
        if request.type is OrderType.MARKET:
            return super().create_order(request)
        return self._answer(request, OrderStatus.OPEN)

    def fetch_order_by_client_id(self, symbol, client_order_id, *, protective=False):
        if client_order_id.endswith("-en1"):
            return self._answer(self.entry, OrderStatus.CANCELED if self.cancelled else OrderStatus.OPEN)
        return super().fetch_order_by_client_id(symbol, client_order_id, protective=protective)

    def cancel_order(self, symbol, *, order_id, protective=False):
        if order_id == "partial-1":
            self.cancelled = True
            return self._answer(self.entry, OrderStatus.CANCELED)
        return super().cancel_order(symbol, order_id=order_id, protective=protective)

    def _answer(self, request: OrderRequest, status: OrderStatus) -> Order:
        self.entry = request
        # The filled part is real on the paper exchange, so the protective orders find a position.
        if not getattr(self, "bought", False):
            self.bought = True
            super().create_order(
                OrderRequest(
                    symbol=SYMBOL,
                    side=Side.BUY,
                    type=OrderType.MARKET,
                    amount=D("0.08"),
                    client_order_id="partial-fill",
                )
            )
        return Order(
            id="partial-1",
            client_order_id=request.client_order_id,
            symbol=SYMBOL,
            side=Side.BUY,
            type="limit",
            status=status,
            amount=request.amount,
            filled=D("0.08"),
            average_price=D("19900"),
            price=request.price,
            trigger_price=None,
            reduce_only=False,
            fee=D(0),
            fee_currency="USDT",
            timestamp=0,
        )


def test_a_partial_fill_is_tracked_and_only_the_filled_part_is_protected(trader, feed, run_on_commit, monkeypatch):
    adapter = PartialFills(trader.account)
    adapter.cancelled = False
    monkeypatch.setattr(engine, "adapter_for_account", lambda account: adapter)
    plan = execute(preview(trader, order_type="limit", entry_price=D("19900"), stop_loss=D("19400")), run_on_commit)
    assert plan.status == Status.ENTRY_SUBMITTED
    assert plan.filled_quantity == D("0.08")
    assert PlanEvent.objects.filter(plan=plan, reason__startswith="entry partially filled: 0.08 of 0.2").exists()

    with run_on_commit():
        trade_plan_cancel(plan=plan, user=None)
    plan.refresh_from_db()
    assert plan.status == Status.PROTECTION_PLACED
    assert plan.filled_quantity == D("0.08")
    stop = Execution.objects.get(plan=plan, leg=Execution.Leg.STOP_LOSS)
    assert stop.amount == D("0.08")
    assert (
        "partial: 0.08 of 0.2; the rest was cancelled"
        in PlanEvent.objects.get(plan=plan, to_status=Status.ENTRY_FILLED).reason
    )


def test_no_paper_price_before_the_replay_starts(trader):
    """Pricing from the newest stored candle before the replay starts would fill at the end of the
    data and leave the stops waiting for candles released much later; the preview is refused instead."""
    store_bars(BARS)[1].delete()
    with pytest.raises(ExchangeUnreachable, match="until its replay feed releases one"):
        preview(trader)
    assert not TradePlan.objects.exists()


def test_a_plans_stop_cannot_be_cancelled_from_the_account_page(trader, feed, run_on_commit, operator, client):
    plan = execute(preview(trader), run_on_commit)
    stop = Execution.objects.get(plan=plan, leg=Execution.Leg.STOP_LOSS)
    order = PaperAdapter(trader.account).fetch_order_by_client_id(SYMBOL, stop.client_order_id, protective=True)
    with pytest.raises(OrderCancelRefused, match=f"belongs to trade plan {plan.pk}: cancel or close the plan instead"):
        order_cancel(account=trader.account, order=order)
    client.force_login(operator)
    answer = client.post(f"/api/v1/orders/{trader.account.pk}/{order.id}/cancel")
    assert answer.status_code == 409
    assert paper_orders(plan)[stop.client_order_id] == "open"


def test_a_losing_streak_halts_the_trader_at_the_daily_loss_limit_and_not_before(trader, run_on_commit):
    """Each trade risks 1 % of equity to its stop and loses it plus fees (about 1.05 %): the 3 % daily
    limit is not reached after two losses and is after the third; then no new entry is accepted.
    Each trade takes three bars: the entry bar, the bar the position opens in (stops are checked from
    the next one, as in the backtester), and the drop through the stop."""
    losing_bar = (20000, 20000, 19400, 19500)
    feed = store_bars([flat(20000), flat(20000), losing_bar] * 4)[1]
    halted_after = []
    for trade in range(3):
        release(feed, 3 * trade)  # back at 20,000: enter
        plan = execute(preview(trader, take_profit=None), run_on_commit)
        assert plan.status == Status.PROTECTION_PLACED, plan.status_reason
        release(feed, 3 * trade + 2)  # the drop through the stop
        process_paper_orders()
        assert TradePlan.objects.get(pk=plan.pk).close_reason == TradePlan.CloseReason.STOP_LOSS
        account_reconcile(account=trader.account)  # reads equity for the loss limits
        halted_after.append(trader_halt_kind(trader=trader))
    assert halted_after == [None, None, HaltKind.DAILY_LOSS]
    assert Alert.objects.filter(kind=Alert.Kind.TRADER_HALTED).count() == 1

    release(feed, 9)
    refused = preview(trader, take_profit=None)
    assert refused.status == Status.REJECTED
    assert "trading halted: daily_loss" in refused.status_reason


def test_protection_the_exchange_never_received_is_withdrawn_not_sent_when_closing(
    trader, feed, run_on_commit, monkeypatch, operator
):
    def unavailable(self, request):
        raise ExchangeUnavailable("503 Service Unavailable")

    with monkeypatch.context() as patch:
        patch.setattr(PaperAdapter, "create_protective_order", unavailable)
        plan = execute(preview(trader), run_on_commit)
    assert plan.status == Status.ENTRY_FILLED  # the stop waits for the exchange
    assert "waiting for the exchange" in PlanEvent.objects.filter(plan=plan).last().reason
    with run_on_commit():
        trade_plan_close(plan=plan, user=operator)
    plan.refresh_from_db()
    assert (plan.status, plan.close_reason) == (Status.COMPLETED, TradePlan.CloseReason.EXIT)
    assert paper_orders(plan) == {f"to-{plan.pk}-en1": "closed", f"to-{plan.pk}-ex1": "closed"}
    stop = Execution.objects.get(plan=plan, leg=Execution.Leg.STOP_LOSS)
    assert (stop.status, stop.send_count) == (Execution.Status.CANCELLED, 0)


def test_a_paper_plan_never_reaches_an_account_switched_to_live(trader, feed):
    plan = preview(trader)
    accounts = ExchangeAccount.objects.filter(pk=trader.account.pk)
    to_live = {"mode": ExchangeAccount.Mode.LIVE, "price_source": ExchangeAccount.PriceSource.LIVE}
    to_paper = {"mode": ExchangeAccount.Mode.PAPER, "price_source": ExchangeAccount.PriceSource.REPLAY}
    accounts.update(**to_live)
    with pytest.raises(TradeConflict, match="changed mode since the preview"):
        trade_plan_execute(plan_id=plan.pk, user=None)

    accounts.update(**to_paper)
    trade_plan_execute(plan_id=plan.pk, user=None)  # pending; its task has not run yet
    accounts.update(**to_live)
    assert trade_plan_process(plan_id=plan.pk) == Status.CANCELLED
    assert not Execution.objects.filter(send_count__gt=0).exists()
