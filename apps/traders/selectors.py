from __future__ import annotations

from django.db.models import Q, QuerySet

from apps.traders.models import HaltEvent, KillSwitch, RiskProfile, Trader, TraderRiskState
from apps.traders.risk import HaltKind

RISK_PROFILE_ORDERINGS = ("name", "-name", "created_at", "-created_at", "updated_at", "-updated_at")
TRADER_ORDERINGS = ("name", "-name", "created_at", "-created_at", "updated_at", "-updated_at")


def risk_profile_list(*, search: str | None = None, ordering: str = "name") -> QuerySet[RiskProfile]:
    profiles = RiskProfile.objects.all()
    if search:
        profiles = profiles.filter(name__icontains=search)
    return profiles.order_by(ordering if ordering in RISK_PROFILE_ORDERINGS else "name", "pk")


def trader_list(
    *,
    account: int | None = None,
    risk_profile: int | None = None,
    live: bool | None = None,
    halted: bool | None = None,
    search: str | None = None,
    ordering: str = "name",
) -> QuerySet[Trader]:
    traders = Trader.objects.select_related("account", "risk_profile", "risk_state")
    if account is not None:
        traders = traders.filter(account_id=account)
    if risk_profile is not None:
        traders = traders.filter(risk_profile_id=risk_profile)
    if live is not None:
        traders = traders.filter(live=live)
    if halted is not None:
        running = Q(risk_state__isnull=True) | Q(risk_state__halt="")
        traders = traders.exclude(running) if halted else traders.filter(running)
    if search:
        traders = traders.filter(name__icontains=search)
    return traders.order_by(ordering if ordering in TRADER_ORDERINGS else "name", "pk")


def trader_risk_state_get(*, trader: Trader) -> TraderRiskState | None:
    """The trader's state row, or None before its first equity update or halt (uses the
    select_related cache when there is one)."""
    try:
        return trader.risk_state
    except TraderRiskState.DoesNotExist:
        return None


def kill_switch_get() -> KillSwitch:
    """The switch; an unsaved released one when nobody has ever touched it."""
    switch = KillSwitch.objects.select_related("changed_by").filter(pk=KillSwitch.SINGLETON_PK).first()
    return switch or KillSwitch(pk=KillSwitch.SINGLETON_PK, engaged=False)


def trader_halt_kind(*, trader: Trader) -> HaltKind | None:
    """Why `trader` may not open a new position now, or None when it may.

    The trade engine asks this before every new entry, so it always reads the database: a halt
    or the kill switch must stop the very next entry, in every worker process.
    """
    if KillSwitch.objects.filter(pk=KillSwitch.SINGLETON_PK, engaged=True).exists():
        return HaltKind.GLOBAL
    halt = TraderRiskState.objects.filter(trader_id=trader.pk).values_list("halt", flat=True).first()
    return HaltKind(halt) if halt else None


def halt_event_list(
    *,
    trader: int | None = None,
    scope: str | None = None,
    action: str | None = None,
    kind: str | None = None,
) -> QuerySet[HaltEvent]:
    """Newest first. `scope`: "global" (the kill switch) or "trader" (every trader's own halts)."""
    events = HaltEvent.objects.select_related("trader", "actor")
    if trader is not None:
        events = events.filter(trader_id=trader)
    if scope == "global":
        events = events.filter(trader__isnull=True)
    elif scope == "trader":
        events = events.filter(trader__isnull=False)
    if action:
        events = events.filter(action=action)
    if kind:
        events = events.filter(kind=kind)
    return events.order_by("-at", "-id")
