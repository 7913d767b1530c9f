"""django-q2 entry points of the traders app."""

from __future__ import annotations

from apps.core.prometheus import cycle_observed
from apps.traders.services.alerts import alert_conditions_check
from apps.traders.services.cycles import trader_cycle_run, trader_cycles_dispatch
from apps.traders.services.execution import trade_plan_process
from apps.traders.services.notify import alert_delivery_attempt
from apps.traders.services.pnl import equity_snapshots_take_all
from apps.traders.services.reconcile import trades_reconcile


def process_trade_plan(plan_id: int) -> str:
    """Enqueued when a plan is executed, cancelled or closed."""
    return f"plan {plan_id}: {trade_plan_process(plan_id=plan_id)}"


def reconcile_trades() -> str:
    """Scheduled every minute and enqueued at worker start."""
    return "\n".join(str(result) for result in trades_reconcile())


def run_trader_cycle(trader_id: int) -> str:
    """Enqueued for each active trader when new candles of its markets are released, and by the
    minute's dispatch (the heartbeat, and a lost task's catch-up). Safe to run twice at once."""
    with cycle_observed(trader_id=trader_id) as observation:
        report = trader_cycle_run(trader_id=trader_id)
        observation.outcome = report.outcome
    return str(report)


def dispatch_trader_cycles() -> str:
    """Scheduled every minute: one run_trader_cycle task per running or halted trader."""
    count = trader_cycles_dispatch()
    return f"{count} trader cycle{'' if count == 1 else 's'} enqueued"


def deliver_alert(delivery_id: int) -> str:
    """Enqueued after an alert's transaction commits, and by the minute's check for a retry."""
    delivery = alert_delivery_attempt(delivery_id=delivery_id)
    return str(delivery) if delivery else f"alert delivery {delivery_id} no longer exists"


def check_alerts() -> str:
    """Scheduled every minute: stale trader heartbeats, overdue schedules, deliveries to retry."""
    return alert_conditions_check()


def take_equity_snapshots() -> str:
    """Scheduled every 5 minutes: an equity snapshot of every account and every trader."""
    return f"{equity_snapshots_take_all()} equity snapshots"
