"""What every fault drill asserts after the fault: no client order id twice on the exchange, every exchange order
recorded before it was sent, and, once the worker restarted and time passed, one protected plan."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from apps.audit.models import DecisionLog
from apps.traders import tasks
from apps.traders.models import Execution, TradePlan
from tests.drills.conftest import DrillDesk

PlanStatus = TradePlan.Status


def restart(desk: DrillDesk) -> None:
    """What a restarted worker runs: the reconciliation enqueued at start, and the minute's cycle."""
    tasks.reconcile_trades()
    tasks.run_trader_cycle(desk.trader.pk)


def time_passes() -> None:
    """The dead worker's lease expires and the resend delay passes (the rows' clocks move back instead)."""
    TradePlan.objects.exclude(lease_owner="").update(lease_until=timezone.now() - timedelta(seconds=1))
    long_ago = timezone.now() - timedelta(seconds=settings.TRADE_RESEND_AFTER_SECONDS + 1)
    Execution.objects.filter(send_count__gt=0).update(last_sent_at=long_ago)


def check_no_duplicate_and_all_recorded(desk: DrillDesk, where: str) -> None:
    counts = desk.order_counts()
    twice = {cid: n for cid, n in counts.items() if n > 1}
    assert not twice, f"{where}: the same client order id reached the exchange more than once: {twice}"
    recorded = dict(Execution.objects.values_list("client_order_id", "send_count"))
    unrecorded = sorted(cid for cid in counts if recorded.get(cid, 0) < 1)
    assert not unrecorded, f"{where}: orders on the exchange without their Execution committed as sent: {unrecorded}"


def check_converged(desk: DrillDesk, where: str) -> None:
    check_no_duplicate_and_all_recorded(desk, where)
    # Failed cycles (an outage) leave `error` decisions beside it; one decision traded, and it made the plan.
    decisions = list(DecisionLog.objects.exclude(outcome="error").values_list("outcome", "plan_id"))
    plans = list(TradePlan.objects.all())
    assert len(plans) == 1, f"{where}: {len(plans)} plans for one entry candle: {[p.status for p in plans]}"
    [plan] = plans
    assert decisions == [("traded", plan.pk)], f"{where}: decisions {decisions}"
    assert (plan.status, plan.lease_owner) == (PlanStatus.PROTECTION_PLACED, ""), (
        f"{where}: plan {plan.pk} is {plan.status} ({plan.status_reason}), lease {plan.lease_owner!r}"
    )
    cid = f"to-{plan.pk}-"
    assert dict(desk.order_counts()) == {f"{cid}en1": 1, f"{cid}sl1": 1, f"{cid}tp1": 1}, f"{where}: exchange orders"
    assert desk.position() == plan.quantity == plan.filled_quantity, (
        f"{where}: the exchange holds {desk.position()}, the plan bought {plan.filled_quantity} of {plan.quantity}"
    )
    protective = sorted(
        (desk.unwire(o.client_id), o.is_open, o.trigger_price) for o in desk.emu.orders() if o.conditional
    )
    assert protective == [(f"{cid}sl1", True, plan.stop_loss), (f"{cid}tp1", True, plan.take_profit)], (
        f"{where}: protective orders on the exchange {protective}"
    )
    states = dict(Execution.objects.filter(plan=plan).values_list("client_order_id", "status"))
    assert states == {f"{cid}en1": "filled", f"{cid}sl1": "open", f"{cid}tp1": "open"}, f"{where}: {states}"
