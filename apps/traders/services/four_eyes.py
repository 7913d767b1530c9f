"""What waits for a second admin, and filing the request (change_request_create).

The services that make risky changes ask here which part of a change is held, apply the rest at once,
and file a ChangeRequest for what was held. Approving (apps.traders.services.approvals) calls the same
services again with `approval=` the approved request, which lets the held part through.

Held: an exchange account or a trader going live; a loosened risk limit (a profile's field, or a trader
moved to a looser profile); a live trader's model config, prompt template or decision mode; releasing
the kill switch; resetting a live trader's halt; a new text for a prompt template a live AI trader sends
(apps.traders.services.prompts). Tightening and engaging never wait.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, models, transaction
from django.utils import timezone

from apps.core.errors import ServiceValidationError
from apps.core.numbers import plain_number
from apps.traders.models import Alert, ChangeRequest, RiskProfile
from apps.traders.services.alerts import alert_condition_update, alert_raise

Kind, Target = ChangeRequest.Kind, ChangeRequest.Target

# Risk profile fields by the direction that loosens them.
LOOSER_WHEN_HIGHER = (
    "max_leverage",
    "max_order_notional",
    "max_total_notional",
    "max_open_positions",
    "risk_per_trade",
    "daily_loss_limit",
    "max_drawdown",
)
LOOSER_WHEN_LOWER = ("symbol_cooldown_seconds", "min_order_notional")
# Empty means "no limit": clearing one loosens, setting one tightens.
LOOSER_WHEN_EMPTY_OR_HIGHER = ("max_symbol_notional", "max_asset_notional")
LOOSER_WHEN_OFF = ("require_stop_loss",)
LOOSER_WHEN_ON = ("reset_daily_halt_next_day",)
RISK_LIMIT_FIELDS = (
    *LOOSER_WHEN_HIGHER,
    *LOOSER_WHEN_LOWER,
    *LOOSER_WHEN_EMPTY_OR_HIGHER,
    *LOOSER_WHEN_OFF,
    *LOOSER_WHEN_ON,
)
# A live trader's fields that decide what it asks and how it decides.
TRADER_AI_FIELDS = ("decision_mode", "ai_model_config", "prompt_template")


class StaleChange(Exception):
    """The target changed since the request was made: approving it would apply to something nobody reviewed."""


def limit_loosened(field: str, before: Any, after: Any) -> bool:
    """True when moving a risk profile's `field` from `before` to `after` lets more risk through."""
    if before == after:
        return False
    if field in LOOSER_WHEN_HIGHER:
        return after > before
    if field in LOOSER_WHEN_LOWER:
        return after < before
    if field in LOOSER_WHEN_EMPTY_OR_HIGHER:
        return after is None or (before is not None and after > before)
    if field in LOOSER_WHEN_OFF:
        return before and not after
    if field in LOOSER_WHEN_ON:
        return after and not before
    return False


def loosened_limits(before: RiskProfile, after: RiskProfile) -> list[str]:
    """The risk limits `after` sets looser than `before` (another profile, or the same one edited)."""
    return [
        field for field in RISK_LIMIT_FIELDS if limit_loosened(field, getattr(before, field), getattr(after, field))
    ]


# --- values as stored in a request ---------------------------------------------------------------


def plain(value: Any) -> Any:
    """A value as JSON keeps it: rows as their id, decimals as text, times as ISO text."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, (list, tuple)):
        return sorted(plain(item) for item in value)
    if isinstance(value, Decimal):
        return plain_number(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def shown(value: Any) -> str:
    """A value as a person reads it on the pending-changes page."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(sorted(shown(item) for item in value))
    if isinstance(value, Decimal):
        return plain_number(value)
    if isinstance(value, datetime):
        return f"{value.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
    if hasattr(value, "symbol"):
        return value.symbol
    return str(value)


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The request's `changes`: each field's value before and after, stored and shown."""
    return {
        field: {
            "before": plain(before[field]),
            "after": plain(after[field]),
            "before_text": shown(before[field]),
            "after_text": shown(after[field]),
        }
        for field in after
    }


def same(current: Any, stored: Any) -> bool:
    """Whether a target's current value is the one a request recorded (decimals compared as numbers)."""
    current = plain(current)
    if isinstance(stored, str) and isinstance(current, str):
        try:
            return Decimal(current) == Decimal(stored)
        except ArithmeticError:
            return current == stored
    return current == stored


# --- filing and approving ------------------------------------------------------------------------


def approving(approval: ChangeRequest | None, *, kind: str, target_type: str, target_id: int) -> bool:
    """Whether a service call is the approved request's apply (then nothing is held). A request for
    another target or kind, or one not being approved, is a programming error."""
    if approval is None:
        return False
    matches = (approval.kind, approval.target_type, approval.target_id) == (kind, target_type, target_id)
    if not matches or approval.status != ChangeRequest.Status.APPROVED:
        raise ValueError(f"change request #{approval.pk} does not approve {kind} of {target_type} {target_id}")
    return True


def waiting_message(requests: list[ChangeRequest]) -> str:
    """What the forms and the API say when part of a change waits."""
    listed = "; ".join(f"#{request.pk} {request.get_kind_display().lower()}" for request in requests)
    return f"Waiting for a second admin to approve: {listed}. It takes effect once approved on /approvals/."


@transaction.atomic
def change_request_create(
    *,
    kind: str,
    target: models.Model,
    target_type: str,
    changes: dict[str, dict[str, Any]],
    user: Any,
    note: str = "",
) -> ChangeRequest:
    """File a pending request (the target is left as it is) and alert the admins. A pending request of
    the same kind for the same target is superseded: the newest one is what a second admin reviews."""
    if kind not in Kind.values:
        raise ServiceValidationError("kind", f"{kind!r} is not one of: {', '.join(Kind.values)}")
    if not changes:
        raise ServiceValidationError("changes", "a change request must change something")
    requester = user if getattr(user, "is_authenticated", False) else None
    older = ChangeRequest.objects.select_for_update().filter(
        kind=kind, target_type=target_type, target_id=target.pk, status=ChangeRequest.Status.PENDING
    )
    for request in older:
        change_request_close(
            request, status=ChangeRequest.Status.SUPERSEDED, user=requester, result="a newer request replaced it"
        )
    try:
        with transaction.atomic():
            request = ChangeRequest(
                kind=kind,
                target_type=target_type,
                target_id=target.pk,
                target_name=("global kill switch" if target_type == Target.KILL_SWITCH else str(target))[:200],
                changes=changes,
                note=note[:500],
                requested_by=requester,
            )
            request._history_user = requester  # type: ignore[attr-defined]
            request._change_reason = "requested"  # type: ignore[attr-defined]
            request.save()
    except IntegrityError:
        # Another request of this kind was filed for the same target at the same moment.
        raise ServiceValidationError(
            kind, f"another {Kind(kind).label.lower()} request for {target} was just filed: review it on /approvals/"
        ) from None
    who = requester.get_username() if requester is not None else "the system"
    alert_raise(
        kind=Alert.Kind.APPROVAL_REQUESTED,
        subject=f"change_request:{request.pk}",
        message=f"{who} asks: {request.get_kind_display()} ({request.target_name}), change request #{request.pk} "
        "on /approvals/",
    )
    return request


def change_request_close(
    request: ChangeRequest, *, status: str, user: Any, reason: str = "", result: str = ""
) -> ChangeRequest:
    """Record a request's end (decided, cancelled, superseded): who, when, why, and what came of it."""
    request.status = status
    request.decided_by = user
    request.decided_at = timezone.now()
    request.reason = reason[:500]
    request.result = result[:1000]
    request._history_user = user  # type: ignore[attr-defined]
    request._change_reason = f"{status}: {reason}"[:100] if reason else status  # type: ignore[attr-defined]
    request.save()
    # The admins' alert stays open while the request waits; its end closes it.
    who = user.get_username() if user is not None else "the system"
    alert_condition_update(
        kind=Alert.Kind.APPROVAL_REQUESTED,
        subject=f"change_request:{request.pk}",
        holds=False,
        message="",
        cleared=f" ({status} by {who})",
    )
    return request


def approval_record(instance: models.Model, approval: ChangeRequest) -> None:
    """The target's own history names the request and the admin who approved it."""
    requester = approval.requested_by.get_username() if approval.requested_by else "the system"
    instance._history_user = approval.decided_by  # type: ignore[attr-defined]
    instance._change_reason = (  # type: ignore[attr-defined]
        f"change request #{approval.pk} by {requester}, approved by {approval.decided_by}"
    )


def trader_held(before: Any, after: Any, *, approved: set[str]) -> dict[str, list[str]]:
    """The fields of a trader edit (`before` -> `after`, both Trader rows) that wait, by request kind."""
    changed = {
        field
        for field in ("live", "account", "risk_profile", *TRADER_AI_FIELDS)
        if _field_id(before, field) != _field_id(after, field)
    }
    held: dict[str, list[str]] = {}
    going_live = after.live and ("live" in changed or "account" in changed)
    if going_live:
        held[Kind.TRADER_LIVE] = [field for field in ("live", "account") if field in changed]
    ai_changed = [field for field in TRADER_AI_FIELDS if field in changed]
    if before.live and ai_changed:
        held[Kind.TRADER_AI] = ai_changed
    if "risk_profile" in changed and loosened_limits(before.risk_profile, after.risk_profile):
        held[Kind.RISK_RAISE] = ["risk_profile"]
    return {kind: fields for kind, fields in held.items() if kind not in approved}


def _field_id(row: Any, field: str) -> Any:
    concrete = row._meta.get_field(field)
    return getattr(row, concrete.attname)
