"""Four-eyes approval: filing (change_request_create, from four_eyes), approving, rejecting, cancelling.

Approving re-checks the request against the target as it is now: when a field it changes no longer
holds the value it was requested against, the request fails and nothing is applied. Otherwise it is
applied through the same service the forms and the API use (with `approval=`, which lets the held
part through), inside the approval's transaction: a refusal there fails the request, nothing half done.

Only an admin approves or rejects, and never their own request; the requester may cancel it. Every
decision is in the request's history (who, when, why), and the applied change in the target's.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from apps.core.errors import ServiceValidationError
from apps.core.roles import Role, has_role
from apps.exchanges.models import ExchangeAccount
from apps.exchanges.services import exchange_account_update
from apps.traders.models import ChangeRequest, KillSwitch, PromptTemplate, RiskProfile, Trader, TraderRiskState
from apps.traders.services import traders as trader_services
from apps.traders.services.errors import TradeConflict, TradeRefused
from apps.traders.services.four_eyes import StaleChange, change_request_close, change_request_create, plain, same
from apps.traders.services.prompts import prompt_template_update

__all__ = [
    "change_request_approve",
    "change_request_cancel",
    "change_request_create",
    "change_request_reject",
]

Kind, Status, Target = ChangeRequest.Kind, ChangeRequest.Status, ChangeRequest.Target
REASON_MAX_LENGTH = ChangeRequest._meta.get_field("reason").max_length


def _lock(change_request: ChangeRequest) -> ChangeRequest:
    request = ChangeRequest.objects.select_for_update().get(pk=change_request.pk)
    if request.status != Status.PENDING:
        raise TradeConflict(f"change request #{request.pk} is already {request.status}")
    return request


def _check_decider(request: ChangeRequest, user: Any) -> None:
    if not has_role(user, Role.ADMIN):
        raise TradeRefused("only an admin approves or rejects a change request")
    if request.requested_by_id is not None and request.requested_by_id == user.pk:
        raise TradeRefused(f"change request #{request.pk} is yours: a second admin must decide it")


def _clean_reason(reason: Any, *, required: bool) -> str:
    if not isinstance(reason, str):
        raise ServiceValidationError("reason", "must be text")
    reason = reason.strip()
    if required and not reason:
        raise ServiceValidationError("reason", "is required: say why, it goes into the record")
    if len(reason) > REASON_MAX_LENGTH:
        raise ServiceValidationError("reason", f"must be at most {REASON_MAX_LENGTH} characters")
    return reason


# --- the target as it is now ---------------------------------------------------------------------


def _target(request: ChangeRequest) -> Any:
    """The row the request changes, locked; StaleChange when it is gone."""
    models: dict[str, Any] = {
        Target.ACCOUNT: ExchangeAccount,
        Target.TRADER: Trader,
        Target.RISK_PROFILE: RiskProfile,
        Target.KILL_SWITCH: KillSwitch,
        Target.PROMPT_TEMPLATE: PromptTemplate,
    }
    found = models[request.target_type].objects.select_for_update().filter(pk=request.target_id).first()
    if found is None:
        raise StaleChange(f"{request.get_target_type_display().lower()} {request.target_name} no longer exists")
    if request.kind == Kind.HALT_RESET:
        state = TraderRiskState.objects.filter(trader=found).first()
        if state is None:
            raise StaleChange(f"trader {found.name} is no longer halted")
        return state
    return found


def _current(row: Any, field: str) -> Any:
    if field == "markets":
        return list(row.markets.all())
    concrete = row._meta.get_field(field)
    return getattr(row, concrete.attname) if concrete.is_relation else getattr(row, field)


def _check_current(request: ChangeRequest, target: Any) -> None:
    """StaleChange naming every field that no longer holds the value the request was made against."""
    moved = [
        f"{field} is now {plain(_current(target, field))!r}, not {change['before']!r}"
        for field, change in request.changes.items()
        if not same(_current(target, field), change["before"])
    ]
    if moved:
        raise StaleChange(f"{request.target_name} changed since the request: {'; '.join(moved)}")


# --- applying ------------------------------------------------------------------------------------


def _after(request: ChangeRequest) -> dict[str, Any]:
    return {field: change["after"] for field, change in request.changes.items()}


def _apply(request: ChangeRequest, target: Any, user: Any) -> str:
    """Apply the approved request through its service; returns what it did."""
    decision = f"change request #{request.pk}, approved by {user.get_username()}"
    if request.kind == Kind.ACCOUNT_LIVE:
        exchange_account_update(account=target, changes=_after(request), user=user, approval=request)
    elif request.kind == Kind.RISK_RAISE and request.target_type == Target.RISK_PROFILE:
        trader_services.risk_profile_update(profile=target, changes=_after(request), user=user, approval=request)
    elif request.target_type == Target.PROMPT_TEMPLATE:
        prompt_template_update(template=target, changes=_after(request), user=user, approval=request)
    elif request.kind in (Kind.TRADER_LIVE, Kind.TRADER_AI, Kind.RISK_RAISE):
        trader_services.trader_update(trader=target, changes=_after(request), user=user, approval=request)
    elif request.kind == Kind.KILL_SWITCH_RELEASE:
        reason = f"{request.note} ({decision})"[: trader_services.REASON_MAX_LENGTH]
        trader_services.kill_switch_release(user=user, reason=reason, approval=request)
    elif request.kind == Kind.HALT_RESET:
        reason = f"{request.note} ({decision})"[: trader_services.REASON_MAX_LENGTH]
        trader_services.trader_halt_reset(trader=target.trader, user=user, reason=reason, approval=request)
    else:  # pragma: no cover - every Kind is handled above
        raise ValueError(f"no apply for {request.kind}")
    changed = ", ".join(f"{row['field']} {row['before']} → {row['after']}" for row in request.diff())
    return f"Applied: {changed}."


# --- decisions -----------------------------------------------------------------------------------


@transaction.atomic
def change_request_approve(*, change_request: ChangeRequest, user: Any, reason: str = "") -> ChangeRequest:
    """A second admin's approval: re-checked against the target now, then applied in this transaction.
    Refused (TradeRefused) for a non-admin or the requester; TradeConflict when no longer pending. A stale
    request or one its service refuses ends `failed`, with the reason in `result` and nothing applied."""
    request = _lock(change_request)
    _check_decider(request, user)
    reason = _clean_reason(reason, required=False)
    request.status, request.decided_by = Status.APPROVED, user
    try:
        with transaction.atomic():  # a savepoint: a refusal leaves nothing of the apply behind
            target = _target(request)
            _check_current(request, target)
            result = _apply(request, target, user)
    except (StaleChange, ServiceValidationError, TradeRefused, TradeConflict) as exc:
        return change_request_close(
            request, status=Status.FAILED, user=user, reason=reason, result=f"Not applied: {exc}"
        )
    return change_request_close(request, status=Status.APPROVED, user=user, reason=reason, result=result)


@transaction.atomic
def change_request_reject(*, change_request: ChangeRequest, user: Any, reason: str) -> ChangeRequest:
    """A second admin's rejection, with a reason (required: the requester must learn why)."""
    request = _lock(change_request)
    _check_decider(request, user)
    return change_request_close(request, status=Status.REJECTED, user=user, reason=_clean_reason(reason, required=True))


@transaction.atomic
def change_request_cancel(*, change_request: ChangeRequest, user: Any, reason: str = "") -> ChangeRequest:
    """The requester withdraws their own pending request."""
    request = _lock(change_request)
    if request.requested_by_id is None or request.requested_by_id != getattr(user, "pk", None):
        raise TradeRefused(f"only the requester cancels change request #{request.pk}; an admin rejects it")
    return change_request_close(
        request, status=Status.CANCELLED, user=user, reason=_clean_reason(reason, required=False)
    )
