"""The trade state machine: it takes an executed plan from pending to a filled entry with its
protective orders, and on to completed, failed or cancelled. Every order goes through here.

Exactly once (DESIGN.md, safety invariant 2):
- Each order has an Execution row with a deterministic client order id, unique in the database,
  committed before the request is sent (``_execution``, then ``_mark_sent``, then the request).
- A worker holds a plan through a lease (a conditional UPDATE, atomic on PostgreSQL and SQLite);
  a second worker gets nothing to do, and a crashed worker's plan is resumed once its lease expires.
- An Execution that may have been sent (``send_count`` > 0) is looked up by its client order id
  before anything else. Only an order the exchange still does not know TRADE_RESEND_AFTER_SECONDS
  after it was sent is sent again, with the same client order id, so an exchange that did see the
  first request refuses the copy.

No database transaction is held open across an exchange call: every write here is its own short
transaction, so a row is visible to other workers the moment it is written.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from apps.core.events import EventType, publish
from apps.core.numbers import at_increment
from apps.exchanges.adapters import errors
from apps.exchanges.adapters.base import (
    ExchangeAdapter,
    MarginMode,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    ProtectionKind,
    ProtectiveOrderRequest,
    Side,
)
from apps.exchanges.adapters.factory import adapter_for_account
from apps.exchanges.models import ExchangeAccount
from apps.market.models import Market, MarketFeed
from apps.market.selectors import replay_clock
from apps.traders.models import PLAN_TRANSITIONS, Alert, Execution, PlanEvent, TradePlan
from apps.traders.selectors import trader_halt_kind
from apps.traders.services.alerts import alert_raise
from apps.traders.services.decisions import decision_pnl_record
from apps.traders.services.pnl import equity_snapshots_after_fill
from apps.traders.trade_rules import client_order_id

log = logging.getLogger(__name__)

PlanStatus = TradePlan.Status
Leg = Execution.Leg
ExecStatus = Execution.Status
MAX_STEPS = 10
# A spot stop-loss is a stop-limit order; its limit sits this far past the trigger so that it
# still fills when the price gaps through the trigger.
SPOT_STOP_LIMIT_OFFSET = Decimal("0.005")
ORDER_STATUSES = {
    OrderStatus.OPEN: ExecStatus.OPEN,
    OrderStatus.CLOSED: ExecStatus.FILLED,
    OrderStatus.CANCELED: ExecStatus.CANCELLED,
    OrderStatus.EXPIRED: ExecStatus.EXPIRED,
    OrderStatus.REJECTED: ExecStatus.REJECTED,
}
PROTECTION_KINDS = {Leg.STOP_LOSS: ProtectionKind.STOP_LOSS, Leg.TAKE_PROFIT: ProtectionKind.TAKE_PROFIT}
CLOSE_REASONS = {
    Leg.STOP_LOSS: TradePlan.CloseReason.STOP_LOSS,
    Leg.TAKE_PROFIT: TradePlan.CloseReason.TAKE_PROFIT,
    Leg.EXIT: TradePlan.CloseReason.EXIT,
}


class InvalidTransition(Exception):
    """A status change the state machine does not allow; a bug, never a user error."""


class RetryLater(Exception):
    """The exchange could not answer now; the plan stays where it is and a later run goes on."""


class LeaseLost(Exception):
    """Another worker took the plan over (this one was too slow); stop touching it."""


def at_tick(plan: TradePlan, value: Decimal | None) -> str:
    """A price in a timeline reason, at the market's tick: 20995.8, not 20995.800000000000."""
    return "?" if value is None else at_increment(value, plan.market.price_precision)


def at_step(plan: TradePlan, value: Decimal | None) -> str:
    """A quantity in a timeline reason, at the market's step: 0.2, not 0.200000000000."""
    return "?" if value is None else at_increment(value, plan.market.amount_precision)


def plan_market_time(plan: TradePlan) -> datetime | None:
    """The replay's market time for a plan on replayed prices; a plan on the exchange's prices (live,
    testnet, or a paper account on live prices) trades at the wall clock (None)."""
    if plan.account.feed_source != MarketFeed.Source.REPLAY:
        return None
    return replay_clock(market=plan.market)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


# --- status changes and the timeline ----------------------------------------------------------


@transaction.atomic
def plan_transition(
    *,
    plan: TradePlan,
    to_status: str,
    reason: str,
    exchange_ref: str = "",
    execution: Execution | None = None,
    actor: AbstractBaseUser | None = None,
    **changes: object,
) -> TradePlan:
    """Move the plan to `to_status`, with the event that says why. Raises InvalidTransition."""
    current = TradePlan.objects.select_for_update().get(pk=plan.pk)
    if to_status not in PLAN_TRANSITIONS[current.status]:
        raise InvalidTransition(f"plan {plan.pk} cannot go from {current.status} to {to_status}")
    from_status = current.status
    for field, value in changes.items():
        setattr(current, field, value)
    current.status = to_status
    current.status_reason = reason[:500]
    current.save()
    PlanEvent.objects.create(
        plan=current,
        from_status=from_status,
        to_status=to_status,
        reason=reason[:500],
        exchange_ref=exchange_ref,
        execution=execution,
        actor=actor,
        market_time=plan_market_time(current),
    )
    log.info("plan %s: %s -> %s: %s", plan.pk, from_status, to_status, reason)
    publish(
        EventType.PLAN,
        {
            "plan_id": current.pk,
            "trader_id": current.trader_id,
            "account_id": current.account_id,
            "market_id": current.market_id,
            "symbol": current.market.symbol,
            "from": from_status,
            "to": to_status,
        },
    )
    if to_status == PlanStatus.FAILED:
        what = f"Plan {current.pk} ({current.market.symbol} {current.side}, trader {current.trader.name})"
        alert_raise(kind=Alert.Kind.EXECUTION_FAILED, plan=current, message=f"{what} failed: {reason}")
    if to_status == PlanStatus.COMPLETED:
        decision_pnl_record(plan=current)
    return current


def plan_note(
    *, plan: TradePlan, reason: str, execution: Execution | None = None, actor: AbstractBaseUser | None = None
) -> None:
    """An event without a status change (a partial fill, a re-placed order); not repeated back to back."""
    last = PlanEvent.objects.filter(plan=plan).order_by("-at", "-id").first()
    if last is not None and last.reason == reason[:500]:
        return
    PlanEvent.objects.create(
        plan=plan,
        from_status=plan.status,
        to_status=plan.status,
        reason=reason[:500],
        exchange_ref=execution.exchange_order_id if execution else "",
        execution=execution,
        actor=actor,
        market_time=plan_market_time(plan),
    )


# --- the lease --------------------------------------------------------------------------------


def plan_claim(*, plan_id: int, owner: str) -> bool:
    """Take the plan for `owner` unless another live worker holds it. One UPDATE: of two racing
    workers exactly one matches (PostgreSQL re-checks the WHERE after the row lock; SQLite serialises)."""
    now = timezone.now()
    until = now + timedelta(seconds=settings.TRADE_LEASE_SECONDS)
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now) | Q(lease_owner=owner)
    return TradePlan.objects.filter(free, pk=plan_id).update(lease_owner=owner, lease_until=until) == 1


def plan_release(*, plan_id: int, owner: str) -> None:
    TradePlan.objects.filter(pk=plan_id, lease_owner=owner).update(lease_owner="", lease_until=None)


def _renew(plan: TradePlan, owner: str) -> None:
    until = timezone.now() + timedelta(seconds=settings.TRADE_LEASE_SECONDS)
    if not TradePlan.objects.filter(pk=plan.pk, lease_owner=owner).update(lease_until=until):
        raise LeaseLost(f"plan {plan.pk} is no longer held by {owner}")


# --- executions: one row per order, committed before the order is sent -------------------------


def _execution(plan: TradePlan, leg: str, *, attempt: int = 1, **fields: object) -> Execution:
    cid = client_order_id(prefix=settings.ORDER_ID_PREFIX, plan_id=plan.pk, leg=leg, attempt=attempt)
    try:
        with transaction.atomic():
            execution, _created = Execution.objects.get_or_create(
                client_order_id=cid, defaults={"plan": plan, "leg": leg, "attempt": attempt, **fields}
            )
    except IntegrityError:  # another worker inserted it between our read and our insert
        execution = Execution.objects.get(client_order_id=cid)
    return execution


def _latest(plan: TradePlan, leg: str) -> Execution | None:
    return Execution.objects.filter(plan=plan, leg=leg).order_by("-attempt").first()


def _save(execution: Execution, **fields: object) -> Execution:
    for field, value in fields.items():
        setattr(execution, field, value)
    execution.save(update_fields=[*fields, "updated_at"])
    return execution


@transaction.atomic
def _apply(execution: Execution, order: Order) -> Execution:
    """Record what the exchange says about the execution's order (the one place fills are recorded)."""
    status = ORDER_STATUSES[order.status]
    if status is ExecStatus.FILLED and order.filled < order.amount:
        status = ExecStatus.OPEN  # closed with a remainder never happens for our order types; keep looking
    filled_before = execution.filled
    execution = _save(
        execution,
        status=status,
        exchange_order_id=order.id or execution.exchange_order_id,
        filled=min(order.filled, execution.amount) if order.filled else execution.filled,
        average_price=order.average_price or execution.average_price,
        fee=order.fee or execution.fee,
        fee_currency=order.fee_currency or execution.fee_currency,
    )
    if execution.filled > filled_before:
        publish(
            EventType.FILL,
            {
                "plan_id": execution.plan_id,
                "execution_id": execution.pk,
                "leg": execution.leg,
                "side": execution.side,
                "filled": execution.filled,
                "price": execution.average_price,
                "fee": execution.fee,
                "status": execution.status,
            },
        )
        _snapshot_after_commit(execution.plan_id)
    return execution


def _snapshot_after_commit(plan_id: int) -> None:
    """Equity snapshots once the fill is committed; robust: a failing snapshot never undoes or stops a fill
    (the 5-minute schedule takes the next one)."""

    def equity_snapshots_after_fill_of_plan() -> None:
        equity_snapshots_after_fill(plan_id=plan_id)

    transaction.on_commit(equity_snapshots_after_fill_of_plan, robust=True)


def _submit(execution: Execution, adapter: ExchangeAdapter, symbol: str) -> Order:
    if execution.is_protective:
        return adapter.create_protective_order(
            ProtectiveOrderRequest(
                symbol=symbol,
                side=Side(execution.side),
                kind=PROTECTION_KINDS[execution.leg],
                amount=execution.amount,
                trigger_price=execution.trigger_price,  # type: ignore[arg-type]
                client_order_id=execution.client_order_id,
                limit_price=execution.price,
            )
        )
    return adapter.create_order(
        OrderRequest(
            symbol=symbol,
            side=Side(execution.side),
            type=OrderType(execution.order_type),
            amount=execution.amount,
            client_order_id=execution.client_order_id,
            price=execution.price,
            reduce_only=execution.reduce_only,
        )
    )


def _send(execution: Execution, adapter: ExchangeAdapter, symbol: str) -> Execution:
    """Send the execution's order. The counter is committed first: whoever finds send_count > 0
    must look the order up before sending it again."""
    sent = execution.send_count
    _save(execution, send_count=sent + 1, last_sent_at=timezone.now())
    try:
        order = _submit(execution, adapter, symbol)
    except (errors.RateLimited, errors.ExchangeUnavailable) as exc:
        # Refused before the exchange processed it (the adapter turns a failure after sending into
        # a lookup or OrderStateUnknown), so nothing reached the order book.
        _save(execution, send_count=sent, last_error=str(exc)[:500])
        raise RetryLater(str(exc)) from None
    except errors.OrderStateUnknown as exc:
        alert_raise(
            kind=Alert.Kind.ORDER_UNKNOWN,
            plan=execution.plan,
            message=f"{execution.client_order_id}: {exc}",
        )
        return _save(execution, status=ExecStatus.UNKNOWN, last_error=str(exc)[:500])
    except errors.AdapterError as exc:
        return _save(execution, status=ExecStatus.REJECTED, last_error=str(exc)[:500])
    return _apply(execution, order)


def _lookup(execution: Execution, adapter: ExchangeAdapter, symbol: str) -> Order | None:
    try:
        return adapter.fetch_order_by_client_id(symbol, execution.client_order_id, protective=execution.is_protective)
    except errors.AdapterError as exc:
        raise RetryLater(f"looking up {execution.client_order_id} failed: {exc}") from None


def _sync(execution: Execution, adapter: ExchangeAdapter, symbol: str) -> Execution:
    """Bring the execution up to date with the exchange, sending its order if it never was."""
    if execution.is_terminal:
        return execution
    if execution.send_count == 0:
        return _send(execution, adapter, symbol)
    order = _lookup(execution, adapter, symbol)
    if order is not None:
        return _apply(execution, order)
    if execution.status == ExecStatus.OPEN:
        # Seen open before, unknown now: the exchange forgot it (or lost it). Never assume it is gone.
        alert_raise(
            kind=Alert.Kind.ORDER_UNKNOWN,
            plan=execution.plan,
            message=f"{execution.client_order_id} was open and is no longer found on the exchange",
        )
        return _save(execution, status=ExecStatus.UNKNOWN)
    waited = timezone.now() - (execution.last_sent_at or execution.created_at)
    if waited < timedelta(seconds=settings.TRADE_RESEND_AFTER_SECONDS):
        return _save(execution, status=ExecStatus.UNKNOWN) if execution.status != ExecStatus.UNKNOWN else execution
    plan_note(
        plan=execution.plan,
        execution=execution,
        reason=f"{execution.client_order_id} not found {int(waited.total_seconds())} s after it was sent: "
        "sending it again with the same client order id",
    )
    return _send(execution, adapter, symbol)


def _cancel(execution: Execution, adapter: ExchangeAdapter, symbol: str) -> Execution:
    """Cancel the execution's order if it is still open; afterwards it is terminal (or RetryLater)."""
    if execution.send_count == 0:  # never sent (we hold the plan's lease, so nobody is sending it now)
        return _save(execution, status=ExecStatus.CANCELLED, last_error="withdrawn before it was sent")
    execution = _sync(execution, adapter, symbol) if not execution.exchange_order_id else execution
    if execution.is_terminal:
        return execution
    if not execution.exchange_order_id:
        raise RetryLater(f"{execution.client_order_id} cannot be cancelled before the exchange knows it")
    try:
        order = adapter.cancel_order(symbol, order_id=execution.exchange_order_id, protective=execution.is_protective)
    except errors.OrderNotFound:
        order = _lookup(execution, adapter, symbol)
        if order is None:
            return _save(execution, status=ExecStatus.CANCELLED, last_error="not found on the exchange when cancelled")
    except errors.AdapterError as exc:
        raise RetryLater(f"cancelling {execution.client_order_id} failed: {exc}") from None
    execution = _apply(execution, order)
    if not execution.is_terminal:
        execution = _sync(execution, adapter, symbol)
    return execution


# --- the steps --------------------------------------------------------------------------------


def _symbol(plan: TradePlan) -> str:
    return plan.market.symbol


def _is_spot(plan: TradePlan) -> bool:
    return plan.market.type == Market.Type.SPOT


def _entry(plan: TradePlan) -> Execution:
    return _execution(
        plan,
        Leg.ENTRY,
        side=plan.side,
        order_type=plan.order_type,
        amount=plan.quantity,
        price=plan.entry_price if plan.order_type == TradePlan.OrderType.LIMIT else None,
    )


def _prepare_account(plan: TradePlan, adapter: ExchangeAdapter) -> None:
    """Margin mode and leverage before a futures entry (idempotent calls)."""
    if _is_spot(plan):
        return
    symbol = _symbol(plan)
    try:
        adapter.set_margin_mode(symbol, MarginMode(plan.account.margin_mode))
    except errors.InvalidOrder as exc:  # e.g. an open position in the other mode: the exchange keeps it
        plan_note(plan=plan, reason=f"margin mode left as it is: {exc}")
    except errors.AdapterError as exc:
        raise RetryLater(str(exc)) from None
    try:
        adapter.set_leverage(symbol, plan.leverage)
    except errors.InvalidOrder as exc:
        raise _Failed(f"leverage {plan.leverage}x refused: {exc}") from None
    except errors.AdapterError as exc:
        raise RetryLater(str(exc)) from None


class _Failed(Exception):
    """The plan cannot go on; the message says why."""


def _step_pending(plan: TradePlan, adapter: ExchangeAdapter) -> bool:
    entry = _entry(plan)
    if entry.send_count == 0:
        if plan.live != (plan.account.mode == ExchangeAccount.Mode.LIVE):
            # Executed for one mode, about to be sent in another: never let a paper plan reach real money.
            plan_transition(
                plan=plan, to_status=PlanStatus.CANCELLED, reason="the account changed mode before the entry was sent"
            )
            return True
        halt = trader_halt_kind(trader=plan.trader)
        if halt is not None:
            plan_transition(
                plan=plan, to_status=PlanStatus.CANCELLED, reason=f"trading halted ({halt}) before the entry was sent"
            )
            return True
        if plan.exit_requested:
            plan_transition(plan=plan, to_status=PlanStatus.CANCELLED, reason="cancelled before the entry was sent")
            return True
        try:
            _prepare_account(plan, adapter)
        except _Failed as exc:
            plan_transition(plan=plan, to_status=PlanStatus.FAILED, reason=str(exc))
            return True
    entry = _sync(entry, adapter, _symbol(plan))
    return _after_entry(plan, entry)


def _step_entry_submitted(plan: TradePlan, adapter: ExchangeAdapter) -> bool:
    entry = _entry(plan)
    entry = _cancel(entry, adapter, _symbol(plan)) if plan.exit_requested else _sync(entry, adapter, _symbol(plan))
    return _after_entry(plan, entry)


def _after_entry(plan: TradePlan, entry: Execution) -> bool:
    ref = entry.exchange_order_id
    finished = entry.status in (ExecStatus.CANCELLED, ExecStatus.EXPIRED, ExecStatus.REJECTED)
    if entry.status == ExecStatus.FILLED or (finished and entry.filled > 0):
        price = entry.average_price or plan.entry_price or plan.reference_price
        reason = f"entry filled: {at_step(plan, entry.filled)} at {at_tick(plan, price)}"
        if entry.filled < entry.amount:
            filled, amount = at_step(plan, entry.filled), at_step(plan, entry.amount)
            reason += f" (partial: {filled} of {amount}; the rest was {entry.status})"
        plan_transition(
            plan=plan,
            to_status=PlanStatus.ENTRY_FILLED,
            reason=reason,
            exchange_ref=ref,
            execution=entry,
            filled_quantity=entry.filled,
            average_entry_price=price,
            exit_requested=False,  # a cancel withdrew the unfilled rest; the filled part is protected
        )
        return True
    if entry.status == ExecStatus.REJECTED:
        reason = f"entry order refused: {entry.last_error}"
        plan_transition(plan=plan, to_status=PlanStatus.FAILED, reason=reason, execution=entry)
        return True
    if finished:
        reason = f"entry order {entry.status} before any fill"
        plan_transition(plan=plan, to_status=PlanStatus.CANCELLED, reason=reason, exchange_ref=ref, execution=entry)
        return True
    if plan.status == PlanStatus.PENDING:
        reason = (
            f"entry order outcome unknown ({entry.last_error}); it is looked up before anything is sent again"
            if entry.status == ExecStatus.UNKNOWN
            else f"entry order open on the exchange: {at_step(plan, entry.amount)} at {at_tick(plan, entry.price)}"
        )
        plan_transition(
            plan=plan, to_status=PlanStatus.ENTRY_SUBMITTED, reason=reason, exchange_ref=ref, execution=entry
        )
        return True
    if entry.filled > plan.filled_quantity:
        plan_note(
            plan=plan,
            execution=entry,
            reason=f"entry partially filled: {at_step(plan, entry.filled)} of {at_step(plan, entry.amount)}",
        )
        TradePlan.objects.filter(pk=plan.pk).update(filled_quantity=entry.filled)
        return True
    return False


def _protective_targets(plan: TradePlan) -> list[tuple[str, Decimal]]:
    targets = [(Leg.STOP_LOSS, plan.stop_loss), (Leg.TAKE_PROFIT, plan.take_profit)]
    return [(leg, price) for leg, price in targets if price is not None]


def _protective(plan: TradePlan, leg: str, trigger: Decimal, attempt: int) -> Execution:
    limit_price = None
    if _is_spot(plan) and leg == Leg.STOP_LOSS:
        direction = -1 if plan.closing_side == Side.SELL else 1
        limit_price = trigger * (1 + direction * SPOT_STOP_LIMIT_OFFSET)
    return _execution(
        plan,
        leg,
        attempt=attempt,
        side=plan.closing_side,
        order_type=leg,
        amount=plan.filled_quantity,
        trigger_price=trigger,
        price=limit_price,
        reduce_only=not _is_spot(plan),
    )


def _current_protection(plan: TradePlan) -> list[Execution]:
    return [execution for leg, _price in _protective_targets(plan) if (execution := _latest(plan, leg))]


def _step_entry_filled(plan: TradePlan, adapter: ExchangeAdapter) -> bool:
    if plan.exit_requested:
        return _exit(plan, adapter, reason="closed at market on request")
    targets = _protective_targets(plan)
    if not targets:
        return _check_position_closed(plan, adapter, [])
    placed = []
    for leg, trigger in targets:
        execution = _latest(plan, leg) or _protective(plan, leg, trigger, attempt=1)
        execution = _sync(execution, adapter, _symbol(plan))
        if execution.status in (ExecStatus.REJECTED, ExecStatus.CANCELLED, ExecStatus.EXPIRED):
            return _protection_refused(plan, adapter, execution)
        placed.append(execution)
    if any(execution.status not in (ExecStatus.OPEN, ExecStatus.FILLED) for execution in placed):
        return False  # an outcome is unknown: looked up again on the next run
    reason = "; ".join(f"{e.get_leg_display().lower()} at {at_tick(plan, e.trigger_price)} placed" for e in placed)
    plan_transition(
        plan=plan,
        to_status=PlanStatus.PROTECTION_PLACED,
        reason=reason,
        exchange_ref=",".join(e.exchange_order_id for e in placed),
    )
    return True


def _protection_refused(plan: TradePlan, adapter: ExchangeAdapter, execution: Execution) -> bool:
    """A position must never stay without its stop: close it at market and fail the plan."""
    message = (
        f"plan {plan.pk}: the exchange refused the {execution.get_leg_display().lower()} at "
        f"{at_tick(plan, execution.trigger_price)} ({execution.last_error or execution.status}); "
        "the position is closed at market"
    )
    alert_raise(kind=Alert.Kind.PROTECTION_FAILED, plan=plan, message=message)
    return _exit(plan, adapter, reason=message, fail=True)


def _exit(plan: TradePlan, adapter: ExchangeAdapter, *, reason: str, fail: bool = False) -> bool:
    """Close the plan's position with a reduce-only market order, then cancel its protective orders."""
    symbol = _symbol(plan)
    exit_order = _execution(
        plan,
        Leg.EXIT,
        side=plan.closing_side,
        order_type=OrderType.MARKET,
        amount=plan.filled_quantity,
        reduce_only=not _is_spot(plan),
    )
    exit_order = _sync(exit_order, adapter, symbol)
    if exit_order.status == ExecStatus.REJECTED and not _position_open(plan, adapter):
        return _finish_external(plan, adapter)
    if exit_order.status != ExecStatus.FILLED:
        if exit_order.status == ExecStatus.REJECTED:
            message = f"plan {plan.pk}: the exit order was refused ({exit_order.last_error}); the position is open"
            alert_raise(kind=Alert.Kind.PROTECTION_FAILED, plan=plan, message=message)
        return False
    _cancel_all(plan, adapter, keep=None)
    status = PlanStatus.FAILED if fail else PlanStatus.COMPLETED
    plan_transition(
        plan=plan,
        to_status=status,
        reason=f"{reason}; exit filled at {at_tick(plan, exit_order.average_price)}",
        exchange_ref=exit_order.exchange_order_id,
        execution=exit_order,
        close_reason=TradePlan.CloseReason.EXIT,
        exit_price=exit_order.average_price,
    )
    return True


def _cancel_all(plan: TradePlan, adapter: ExchangeAdapter, *, keep: Execution | None) -> None:
    for execution in Execution.objects.filter(plan=plan, leg__in=Execution.PROTECTIVE).exclude(
        status__in=Execution.TERMINAL
    ):
        if keep is None or execution.pk != keep.pk:
            _cancel(execution, adapter, _symbol(plan))


def _position_open(plan: TradePlan, adapter: ExchangeAdapter) -> bool:
    if _is_spot(plan):
        return True  # spot holdings are not positions; only the orders tell
    try:
        positions = adapter.fetch_positions([_symbol(plan)])
    except errors.AdapterError as exc:
        raise RetryLater(f"reading positions failed: {exc}") from None
    return any(position.symbol == _symbol(plan) and position.amount > 0 for position in positions)


def _step_protected(plan: TradePlan, adapter: ExchangeAdapter) -> bool:
    if plan.exit_requested:
        return _exit(plan, adapter, reason="closed at market on request")
    symbol = _symbol(plan)
    protection = [_sync(execution, adapter, symbol) for execution in _current_protection(plan)]
    if _complete_if_triggered(plan, adapter, protection):
        return True
    return _check_position_closed(plan, adapter, protection)


def _complete_if_triggered(plan: TradePlan, adapter: ExchangeAdapter, protection: list[Execution]) -> bool:
    filled = next((execution for execution in protection if execution.status == ExecStatus.FILLED), None)
    if filled is None:
        return False
    _cancel_all(plan, adapter, keep=filled)
    price = filled.average_price or filled.trigger_price
    plan_transition(
        plan=plan,
        to_status=PlanStatus.COMPLETED,
        reason=(
            f"{filled.get_leg_display().lower()} hit: "
            f"closed {at_step(plan, filled.filled or filled.amount)} at {at_tick(plan, price)}"
        ),
        exchange_ref=filled.exchange_order_id,
        execution=filled,
        close_reason=CLOSE_REASONS[filled.leg],
        exit_price=price,
    )
    return True


def _check_position_closed(plan: TradePlan, adapter: ExchangeAdapter, protection: list[Execution]) -> bool:
    """Closed outside TradeOps, or a protective order gone while the position is open."""
    symbol = _symbol(plan)
    if not _position_open(plan, adapter):
        # The stop may have fired between our lookups and the position read: look once more.
        protection = [_sync(execution, adapter, symbol) for execution in protection]
        if _complete_if_triggered(plan, adapter, protection):
            return True
        return _finish_external(plan, adapter)
    changed = False
    for execution in protection:
        if execution.status in (ExecStatus.CANCELLED, ExecStatus.EXPIRED, ExecStatus.REJECTED):
            _replace_protection(plan, adapter, execution)
            changed = True
    return changed


def _finish_external(plan: TradePlan, adapter: ExchangeAdapter) -> bool:
    _cancel_all(plan, adapter, keep=None)
    message = f"plan {plan.pk}: the {plan.market.symbol} position was closed outside TradeOps"
    alert_raise(kind=Alert.Kind.POSITION_DRIFT, plan=plan, message=message)
    plan_transition(
        plan=plan,
        to_status=PlanStatus.COMPLETED,
        reason="position closed outside TradeOps; remaining protective orders cancelled",
        close_reason=TradePlan.CloseReason.EXTERNAL,
    )
    return True


def _replace_protection(plan: TradePlan, adapter: ExchangeAdapter, gone: Execution) -> None:
    replacement = _protective(plan, gone.leg, gone.trigger_price, attempt=gone.attempt + 1)  # type: ignore[arg-type]
    replacement = _sync(replacement, adapter, _symbol(plan))
    what = gone.get_leg_display().lower()
    message = (
        f"plan {plan.pk}: the {what} {gone.client_order_id} was {gone.status} on the exchange while the position "
        f"is open; re-placed as {replacement.client_order_id} ({replacement.status})"
    )
    alert_raise(kind=Alert.Kind.PROTECTION_REPLACED, plan=plan, message=message)
    plan_note(plan=plan, execution=replacement, reason=message)
    if replacement.status == ExecStatus.REJECTED:
        _protection_refused(plan, adapter, replacement)


STEPS = {
    PlanStatus.PENDING: _step_pending,
    PlanStatus.ENTRY_SUBMITTED: _step_entry_submitted,
    PlanStatus.ENTRY_FILLED: _step_entry_filled,
    PlanStatus.PROTECTION_PLACED: _step_protected,
}


def trade_plan_process(*, plan_id: int, owner: str | None = None) -> str:
    """Advance one plan as far as the exchange allows now; returns its status. Safe to call from
    any number of workers at once: only the lease holder acts."""
    owner = owner or worker_name()
    if not plan_claim(plan_id=plan_id, owner=owner):
        return TradePlan.objects.values_list("status", flat=True).get(pk=plan_id)
    try:
        _advance(plan_id, owner)
    finally:
        plan_release(plan_id=plan_id, owner=owner)
    return TradePlan.objects.values_list("status", flat=True).get(pk=plan_id)


def _advance(plan_id: int, owner: str) -> None:
    adapter: ExchangeAdapter | None = None
    plan = None
    try:
        for _ in range(MAX_STEPS):
            plan = TradePlan.objects.select_related("account", "market", "trader").get(pk=plan_id)
            step = STEPS.get(plan.status)
            if step is None:
                return
            _renew(plan, owner)
            adapter = adapter or adapter_for_account(plan.account)
            if not step(plan, adapter):
                return
    except RetryLater as exc:
        if plan is not None:
            plan_note(plan=plan, reason=f"waiting for the exchange: {exc}")
    except LeaseLost as exc:
        log.warning("%s", exc)
