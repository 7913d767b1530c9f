"""django-q2 entry points of the traders app."""

from __future__ import annotations

from apps.traders.services.execution import trade_plan_process
from apps.traders.services.reconcile import trades_reconcile


def process_trade_plan(plan_id: int) -> str:
    """Enqueued when a plan is executed, cancelled or closed."""
    return f"plan {plan_id}: {trade_plan_process(plan_id=plan_id)}"


def reconcile_trades() -> str:
    """Scheduled every minute and enqueued at worker start."""
    return "\n".join(str(result) for result in trades_reconcile())
