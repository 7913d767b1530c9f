"""Cancelling an exchange order by hand (`manage.py orders cancel`): through its trade plan when it is an
open plan's entry, so the plan's timeline records it; otherwise through the exchanges app's one cancel
path, whose guard refuses an open plan's stop-loss and take-profit."""

from __future__ import annotations

import logging

from django.contrib.auth.models import AbstractBaseUser

from apps.exchanges.adapters.base import Order
from apps.exchanges.models import ExchangeAccount
from apps.exchanges.services import order_cancel
from apps.traders.models import Execution, TradePlan
from apps.traders.services.plans import trade_plan_cancel

logger = logging.getLogger(__name__)
ENTRY_WAITING = (TradePlan.Status.PENDING, TradePlan.Status.ENTRY_SUBMITTED)


def account_order_cancel(*, account: ExchangeAccount, order: Order, user: AbstractBaseUser | None) -> str:
    """Cancel `order`; answers what was done. Raises OrderCancelRefused (an open plan's protective
    order), TradeConflict and AdapterError subclasses."""
    entry = (
        Execution.objects.filter(
            client_order_id=order.client_order_id,
            plan__account=account,
            plan__status__in=ENTRY_WAITING,
            leg=Execution.Leg.ENTRY,
        )
        .select_related("plan")
        .first()
        if order.client_order_id
        else None
    )
    if entry is not None:
        trade_plan_cancel(plan=entry.plan, user=user)
        return f"cancel requested through trade plan {entry.plan_id} (its entry order)"
    order_cancel(account=account, order=order)
    # No plan holds this order, so no timeline records the cancel: the log says who did it.
    logger.info("Order %s (%s) on %s cancelled by %s", order.id, order.client_order_id or "-", account.name, user)
    return "cancelled"
