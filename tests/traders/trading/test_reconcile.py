"""Reconciliation against the emulator: what happened on the exchange outside TradeOps (a cancelled stop, a
fired stop, a stray order, a manual trade, an outage) is found and settled, and it runs at worker start."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import ccxt
import pytest

from apps.exchanges.emulator.engine import OrderStatus as EngineStatus
from apps.traders import apps as traders_apps
from apps.traders.models import Alert, Execution, PlanEvent, TradePlan
from apps.traders.services.execution import trade_plan_process
from apps.traders.services.reconcile import account_reconcile
from apps.traders.tasks import reconcile_trades
from tests.traders.trading.conftest import PRICE, STOP, SYMBOL, Desk

pytestmark = pytest.mark.django_db
PlanStatus = TradePlan.Status


@pytest.fixture
def protected(desk: Desk) -> TradePlan:
    """A plan whose entry filled and whose stop-loss and take-profit rest on the exchange."""
    plan = desk.plan()
    assert trade_plan_process(plan_id=plan.pk) == PlanStatus.PROTECTION_PLACED
    desk.assert_exactly_once(plan)
    return plan


def outside(desk: Desk) -> ccxt.Exchange:
    """A ccxt client of its own on the same exchange account: someone trading by hand, not TradeOps."""
    client = desk.emu.ccxt_client()
    client.load_markets()
    return client


def wire(desk: Desk, client_id: str) -> str:
    return f"t-{client_id}" if desk.exchange == "gate" else client_id


def place_by_hand(desk: Desk, side: str, amount: str, client_id: str, *, price: Decimal | None = None) -> None:
    contracts = Decimal(amount) / desk.emu.markets[SYMBOL].contract_size  # Gate counts contracts
    params: dict[str, Any] = {"clientOrderId": wire(desk, client_id)}
    kind = "limit" if price is not None else "market"
    outside(desk).create_order(SYMBOL, kind, side, float(contracts), float(price) if price else None, params)


def exchange_order(desk: Desk, client_id: str):
    [order] = [o for o in desk.emu.orders() if o.client_id == wire(desk, client_id)]
    return order


def alerts(kind: str) -> list[Alert]:
    return list(Alert.objects.filter(kind=kind))


def test_a_stop_cancelled_on_the_exchange_is_replaced_with_attempt_2(desk: Desk, protected: TradePlan) -> None:
    plan = protected
    stop = exchange_order(desk, f"to-{plan.pk}-sl1")
    outside(desk).cancel_order(str(stop.id), SYMBOL, {"trigger": True})
    assert exchange_order(desk, f"to-{plan.pk}-sl1").status is EngineStatus.CANCELED

    result = account_reconcile(account=desk.account)

    assert result.error == "" and result.plans_advanced == 1
    replacement = exchange_order(desk, f"to-{plan.pk}-sl2")
    assert replacement.is_open and replacement.conditional and replacement.trigger_price == STOP
    assert replacement.reduce_only and replacement.qty == plan.quantity
    assert exchange_order(desk, f"to-{plan.pk}-tp1").is_open
    sl1, sl2 = Execution.objects.filter(plan=plan, leg=Execution.Leg.STOP_LOSS).order_by("attempt")
    assert (sl1.attempt, sl1.status) == (1, Execution.Status.CANCELLED)
    assert (sl2.attempt, sl2.status, sl2.send_count) == (2, Execution.Status.OPEN, 1)
    [alert] = alerts(Alert.Kind.PROTECTION_REPLACED)
    assert alert.plan == plan and alert.level == Alert.Level.CRITICAL and f"to-{plan.pk}-sl2" in alert.message
    assert PlanEvent.objects.filter(plan=plan, execution=sl2, reason__contains="re-placed").exists()
    assert TradePlan.objects.get(pk=plan.pk).status == PlanStatus.PROTECTION_PLACED

    # Settled: a second pass changes nothing and sends nothing.
    posts = len(desk.order_posts())
    assert account_reconcile(account=desk.account).error == ""
    assert len(desk.order_posts()) == posts and len(alerts(Alert.Kind.PROTECTION_REPLACED)) == 1


def test_a_fired_stop_completes_the_plan_and_cancels_the_take_profit(desk: Desk, protected: TradePlan) -> None:
    plan = protected
    desk.emu.set_price(SYMBOL, STOP - 50)  # through the stop: it triggers and closes the position
    assert desk.emu.engine.positions[SYMBOL].qty == 0
    assert exchange_order(desk, f"to-{plan.pk}-tp1").is_open  # the exchange leaves the take-profit resting

    result = account_reconcile(account=desk.account)

    assert result.error == "" and result.drift == []
    plan.refresh_from_db()
    assert plan.status == PlanStatus.COMPLETED and plan.close_reason == TradePlan.CloseReason.STOP_LOSS
    fill = desk.emu.engine.fills[-1]
    assert plan.exit_price == fill.price == STOP - 50  # a gap through the trigger fills at the gap price
    take_profit = exchange_order(desk, f"to-{plan.pk}-tp1")
    assert take_profit.status is EngineStatus.CANCELED and take_profit.finish_reason == "cancelled"
    assert [o for o in desk.exchange_orders(plan) if o.is_open] == []
    legs = dict(Execution.objects.filter(plan=plan).values_list("leg", "status"))
    assert legs == {
        Execution.Leg.ENTRY: Execution.Status.FILLED,
        Execution.Leg.STOP_LOSS: Execution.Status.FILLED,
        Execution.Leg.TAKE_PROFIT: Execution.Status.CANCELLED,
    }
    assert alerts(Alert.Kind.POSITION_DRIFT) == [] and alerts(Alert.Kind.ORPHAN_CANCELLED) == []


def test_an_orphan_with_our_prefix_is_cancelled_and_foreign_orders_are_left_alone(desk: Desk) -> None:
    place_by_hand(desk, "buy", "0.01", "to-999-sl1", price=PRICE - 3000)  # ours by its id, but no Execution
    place_by_hand(desk, "buy", "0.01", "manual-1", price=PRICE - 3000)

    # The scheduled task: every account with a trader.
    assert "1 orphans cancelled" in reconcile_trades()

    assert exchange_order(desk, "to-999-sl1").status is EngineStatus.CANCELED
    assert exchange_order(desk, "manual-1").is_open
    [alert] = alerts(Alert.Kind.ORPHAN_CANCELLED)
    assert "to-999-sl1" in alert.message and "no execution record" in alert.message
    assert alert.account == desk.account and alert.plan is None


def test_a_position_changed_outside_tradeops_is_drift(desk: Desk, protected: TradePlan) -> None:
    plan = protected
    place_by_hand(desk, "buy", "0.01", "manual-2")  # someone doubles the position by hand
    posts = len(desk.order_posts())

    result = account_reconcile(account=desk.account)

    assert result.drift == [SYMBOL]
    [alert] = alerts(Alert.Kind.POSITION_DRIFT)
    assert alert.account == desk.account and "holds +0.02," in alert.message and "account for +0.01" in alert.message
    assert PlanEvent.objects.filter(plan=plan, reason__startswith="drift:").count() == 1
    # TradeOps does not trade drift away, nor touch the plan.
    assert len(desk.order_posts()) == posts and desk.emu.engine.positions[SYMBOL].qty == Decimal("0.02")
    assert TradePlan.objects.get(pk=plan.pk).status == PlanStatus.PROTECTION_PLACED
    desk.assert_exactly_once(plan, position=Decimal("0.02"))


def test_reconcile_while_the_exchange_is_down_changes_nothing(desk: Desk, protected: TradePlan) -> None:
    plan = protected
    place_by_hand(desk, "buy", "0.01", "to-998-en1", price=PRICE - 3000)  # an orphan it must not reach
    before_orders = [(o.id, o.status, o.filled) for o in desk.emu.orders()]
    before_executions = list(Execution.objects.filter(plan=plan).values_list("id", "status", "send_count"))
    desk.emu.requests.clear()
    down = desk.emu.faults.http_error(503, count=None)

    result = account_reconcile(account=desk.account)

    assert result.error
    [alert] = alerts(Alert.Kind.RECONCILE_FAILED)
    assert alert.account == desk.account and alert.level == Alert.Level.WARNING
    assert [(o.id, o.status, o.filled) for o in desk.emu.orders()] == before_orders
    assert list(Execution.objects.filter(plan=plan).values_list("id", "status", "send_count")) == before_executions
    assert TradePlan.objects.get(pk=plan.pk).status == PlanStatus.PROTECTION_PLACED
    assert all(r.status == 503 for r in desk.emu.requests)  # nothing got through
    assert [a.kind for a in Alert.objects.all()] == [Alert.Kind.RECONCILE_FAILED]

    desk.emu.faults.remove(down.id)
    assert account_reconcile(account=desk.account).error == ""
    assert exchange_order(desk, "to-998-en1").status is EngineStatus.CANCELED  # back up: settled as usual


@pytest.mark.parametrize("sync", [False, True])
def test_each_new_worker_process_enqueues_a_reconciliation(monkeypatch: pytest.MonkeyPatch, sync: bool) -> None:
    from django_q.conf import Conf
    from django_q.signals import post_spawn

    enqueued: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda *args, **kwargs: enqueued.append((args, kwargs)))
    monkeypatch.setattr(Conf, "SYNC", sync)

    post_spawn.send(sender=None, proc_name="Worker-7")  # what django-q2 sends as a worker process starts

    if sync:  # tests run tasks inline, where every task "spawns" a worker: enqueueing would recurse
        assert enqueued == []
    else:
        assert enqueued == [
            ((traders_apps.RECONCILE_TASK,), {"task_name": "reconcile at start of Worker-7"}),
        ]
        assert f"{reconcile_trades.__module__}.{reconcile_trades.__name__}" == traders_apps.RECONCILE_TASK
