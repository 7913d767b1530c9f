"""django-q2 entry points of the exchanges app."""

from __future__ import annotations

from apps.exchanges.adapters.paper import paper_accounts_process_candles
from apps.exchanges.models import ExchangeAccount
from apps.exchanges.services.execution import trade_plan_process
from apps.exchanges.services.reconcile import trade_plans_advance, trades_reconcile


def process_paper_orders() -> str:
    """Scheduled every minute: check the resting paper orders (limits, stop-losses, take-profits)
    against the candles released since the last run, then move the paper plans they concern on
    (a filled stop completes its plan at once). Idempotent: each candle is processed once."""
    changed = paper_accounts_process_candles()
    advanced = trade_plans_advance(accounts=list(ExchangeAccount.objects.filter(mode=ExchangeAccount.Mode.PAPER)))
    return f"{changed} paper orders filled or expired; {advanced} paper plans advanced"


def process_trade_plan(plan_id: int) -> str:
    """Enqueued when a plan is executed, cancelled or closed."""
    return f"plan {plan_id}: {trade_plan_process(plan_id=plan_id)}"


def reconcile_trades() -> str:
    """Scheduled every minute and enqueued at worker start."""
    return "\n".join(str(result) for result in trades_reconcile())
