"""What apps.traders plugs into apps.exchanges' hooks (registered by TradersConfig.ready())."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from apps.exchanges.adapters.base import Order
from apps.exchanges.hooks import OrderCancelRefused
from apps.exchanges.models import ExchangeAccount
from apps.traders.models import OPEN_PLAN_STATUSES, ChangeRequest, Execution
from apps.traders.services import four_eyes
from apps.traders.services.four_eyes import change_request_create
from apps.traders.services.reconcile import trade_plans_advance


def refuse_cancel_of_plan_order(account: ExchangeAccount, order: Order) -> None:
    """An open plan's orders are cancelled through the plan: cancelling its stop from the account page
    would leave the position unprotected until reconciliation put the stop back."""
    if not order.client_order_id:
        return
    owner = Execution.objects.filter(
        client_order_id=order.client_order_id, plan__account=account, plan__status__in=OPEN_PLAN_STATUSES
    ).first()
    if owner is not None:
        raise OrderCancelRefused(
            f"order {order.client_order_id} belongs to trade plan {owner.plan_id}: cancel or close the plan instead"
        )


def advance_paper_plans(accounts: Sequence[ExchangeAccount]) -> str:
    """After paper orders were checked against new candles: a filled stop completes its plan at once."""
    return f"{trade_plans_advance(accounts=list(accounts))} paper plans advanced"


def file_change_request(
    *, target: ExchangeAccount, kind: str, before: dict[str, Any], after: dict[str, Any], user: Any
) -> ChangeRequest:
    """An account change that waits for a second admin (going live), filed as a ChangeRequest."""
    return change_request_create(
        kind=kind,
        target=target,
        target_type=ChangeRequest.Target.ACCOUNT,
        changes=four_eyes.diff(before, after),
        user=user,
    )
