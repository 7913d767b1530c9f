"""Reconciliation: compare what TradeOps believes (open plans and their executions) with what the
exchange has (orders and positions), at worker start and every minute.

- Every open plan is advanced: lookups settle unknown orders, a protective order that disappeared
  while its position is open is re-placed, a fired stop completes its plan and cancels the rest.
- An open order with this installation's client id prefix that no open plan accounts for is an
  orphan: it is cancelled. Orders without the prefix belong to someone else and are left alone.
- A position that differs from the sum of the open plans' fills is drift: an alert, and a note on
  the plans concerned. TradeOps does not trade drift away on its own.
- Each trader's equity is read, so a loss limit halts it even when nothing is being traded.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db.models import Q

from apps.core.numbers import plain_number
from apps.exchanges.adapters import errors
from apps.exchanges.adapters.base import ExchangeAdapter, Order, PositionSide
from apps.exchanges.adapters.factory import adapter_for_account
from apps.exchanges.models import ExchangeAccount
from apps.exchanges.selectors import account_exposure
from apps.market.models import SPOT_EXCHANGES
from apps.traders.models import OPEN_PLAN_STATUSES, Alert, Execution, TradePlan, Trader
from apps.traders.services.alerts import alert_raise
from apps.traders.services.execution import _apply, plan_note, trade_plan_process
from apps.traders.services.traders import trader_risk_update
from apps.traders.trade_rules import is_own_client_id

log = logging.getLogger(__name__)
PlanStatus = TradePlan.Status
HOLDING = (PlanStatus.ENTRY_SUBMITTED, PlanStatus.ENTRY_FILLED, PlanStatus.PROTECTION_PLACED)


@dataclass
class ReconcileResult:
    account: str
    plans_advanced: int = 0
    orphans_cancelled: list[str] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)
    error: str = ""

    def __str__(self) -> str:
        if self.error:
            return f"{self.account}: failed: {self.error}"
        return (
            f"{self.account}: {self.plans_advanced} plans advanced, "
            f"{len(self.orphans_cancelled)} orphans cancelled, {len(self.drift)} drifting positions"
        )


def trade_plans_advance(*, accounts: list[ExchangeAccount] | None = None) -> int:
    """Run the state machine once over every open, executed plan (of `accounts`, or all)."""
    plans = TradePlan.objects.filter(status__in=OPEN_PLAN_STATUSES, submitted_at__isnull=False)
    if accounts is not None:
        plans = plans.filter(account__in=accounts)
    plan_ids = list(plans.order_by("id").values_list("id", flat=True))
    for plan_id in plan_ids:
        trade_plan_process(plan_id=plan_id)
    return len(plan_ids)


def account_reconcile(*, account: ExchangeAccount) -> ReconcileResult:
    result = ReconcileResult(account=account.name)
    try:
        result.plans_advanced = trade_plans_advance(accounts=[account])
        adapter = adapter_for_account(account)
        result.orphans_cancelled = _cancel_orphans(account, adapter)
        result.drift = _check_drift(account, adapter)
        _update_equity(account, adapter)
    except errors.AdapterError as exc:
        result.error = str(exc)
        alert_raise(
            kind=Alert.Kind.RECONCILE_FAILED,
            account=account,
            message=f"reconciling {account.name} failed: {exc}",
        )
    return result


def trades_reconcile() -> list[ReconcileResult]:
    """Every account that has traders or open plans."""
    accounts = ExchangeAccount.objects.filter(
        Q(traders__isnull=False) | Q(plans__status__in=OPEN_PLAN_STATUSES)
    ).distinct()
    return [account_reconcile(account=account) for account in accounts.order_by("name")]


def _cancel_orphans(account: ExchangeAccount, adapter: ExchangeAdapter) -> list[str]:
    cancelled = []
    for order in adapter.fetch_open_orders():
        if not is_own_client_id(order.client_order_id, prefix=settings.ORDER_ID_PREFIX):
            continue
        execution = Execution.objects.select_related("plan").filter(client_order_id=order.client_order_id).first()
        if execution is not None and execution.plan.is_open and not execution.is_terminal:
            continue
        cancelled.append(_cancel_orphan(account, adapter, order, execution))
    return cancelled


def _cancel_orphan(
    account: ExchangeAccount, adapter: ExchangeAdapter, order: Order, execution: Execution | None
) -> str:
    owner = f"plan {execution.plan_id} ({execution.plan.status})" if execution else "no execution record"
    try:
        cancelled = adapter.cancel_order(order.symbol, order_id=order.id, protective=order.protective)
    except errors.OrderNotFound:
        return order.client_order_id or order.id
    if execution is not None:
        _apply(execution, cancelled)
    alert_raise(
        kind=Alert.Kind.ORPHAN_CANCELLED,
        account=account,
        plan=execution.plan if execution else None,
        message=f"{account.name}: cancelled orphan order {order.client_order_id} on {order.symbol} ({owner})",
    )
    return order.client_order_id or order.id


def _signed(amount: Decimal) -> str:
    """A position as the drift alert shows it: +0.2 long, -0.2 short, 0 flat (no 0.200000000000)."""
    return f"+{plain_number(amount)}" if amount > 0 else plain_number(amount)


def _check_drift(account: ExchangeAccount, adapter: ExchangeAdapter) -> list[str]:
    if account.exchange in SPOT_EXCHANGES:
        return []  # spot holdings are wallet balances that other activity moves too
    expected: dict[str, Decimal] = defaultdict(Decimal)
    holding = TradePlan.objects.filter(account=account, status__in=HOLDING).select_related("market")
    plans_by_symbol: dict[str, list[TradePlan]] = defaultdict(list)
    for plan in holding:
        direction = 1 if plan.side == "buy" else -1
        expected[plan.market.symbol] += direction * plan.filled_quantity
        plans_by_symbol[plan.market.symbol].append(plan)
    actual: dict[str, Decimal] = defaultdict(Decimal)
    for position in adapter.fetch_positions():
        actual[position.symbol] += position.amount if position.side == PositionSide.LONG else -position.amount
    drifting = []
    for symbol in sorted(set(expected) | set(actual)):
        if expected[symbol] == actual[symbol]:
            continue
        message = (
            f"{account.name} {symbol}: the exchange holds {_signed(actual[symbol])}, "
            f"the open plans account for {_signed(expected[symbol])}"
        )
        alert_raise(kind=Alert.Kind.POSITION_DRIFT, account=account, message=message)
        for plan in plans_by_symbol[symbol]:
            plan_note(plan=plan, reason=f"drift: {message}")
        drifting.append(symbol)
    return drifting


def _update_equity(account: ExchangeAccount, adapter: ExchangeAdapter) -> None:
    traders = list(Trader.objects.filter(account=account).select_related("risk_profile"))
    if not traders:
        return
    equity = account_exposure(adapter=adapter, exchange=account.exchange).equity
    for trader in traders:
        trader_risk_update(trader=trader, equity=equity)
