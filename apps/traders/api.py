"""/api/v1/risk-profiles, /api/v1/traders and /api/v1/kill-switch.

Profiles and traders: reads for every role, writes for admins (apps.core.crud). Halting and
resetting a trader and the kill switch: operators (and admins), always with a reason.
"""

# No `from __future__ import annotations` here (as in apps/core/crud.py): ninja reads the endpoint
# annotations at runtime, and the paginate wrapper cannot resolve string annotations.
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema

from apps.core.auth import OPERATOR
from apps.core.crud import CrudSpec, crud_router
from apps.core.schemas import ErrorOut, InputSchema, RowId
from apps.exchanges.models import ExchangeAccount
from apps.market.models import MAX_LEVERAGE
from apps.traders import selectors, services
from apps.traders.models import HALT_CHOICES, KillSwitch, RiskProfile, Trader

Halt = Literal[("", *(value for value, _label in HALT_CHOICES))]  # type: ignore[valid-type]
REASON_MAX_LENGTH = services.REASON_MAX_LENGTH


# --- risk profiles -------------------------------------------------------------------------------


class RiskProfileOut(Schema):
    id: int
    name: str
    max_leverage: int
    max_order_notional: Decimal
    max_total_notional: Decimal
    max_open_positions: int
    symbol_cooldown_seconds: int
    risk_per_trade: Decimal
    min_order_notional: Decimal
    max_symbol_notional: Decimal | None
    max_asset_notional: Decimal | None
    require_stop_loss: bool
    daily_loss_limit: Decimal
    max_drawdown: Decimal
    reset_daily_halt_next_day: bool
    created_at: datetime
    updated_at: datetime


def _money(default: Any = ...) -> Any:
    return Field(default, max_digits=20, decimal_places=2)


def _fraction(default: Any = ...) -> Any:
    return Field(default, max_digits=6, decimal_places=5)


class RiskProfileIn(InputSchema):
    """Ranges and the relations between fields (min <= max order <= max total) are checked by the
    service, which answers 422 naming the field. Caps left out or null: no limit."""

    name: str = Field(min_length=1, max_length=100)
    max_leverage: int = Field(5, ge=1, le=MAX_LEVERAGE)
    max_order_notional: Decimal = _money(Decimal(5000))
    max_total_notional: Decimal = _money(Decimal(20000))
    max_open_positions: int = Field(3, ge=1, le=32767)
    symbol_cooldown_seconds: int = Field(300, ge=0, le=2_147_483_647)
    risk_per_trade: Decimal = _fraction(Decimal("0.01"))
    min_order_notional: Decimal = _money(Decimal(10))
    max_symbol_notional: Decimal | None = _money(None)
    max_asset_notional: Decimal | None = _money(None)
    require_stop_loss: bool = True
    daily_loss_limit: Decimal = _fraction(Decimal("0.03"))
    max_drawdown: Decimal = _fraction(Decimal("0.10"))
    reset_daily_halt_next_day: bool = True


class RiskProfilePatch(InputSchema):
    """Fields left out stay as they are; null clears a cap (no limit)."""

    name: str | None = Field(None, min_length=1, max_length=100)
    max_leverage: int | None = Field(None, ge=1, le=MAX_LEVERAGE)
    max_order_notional: Decimal | None = _money(None)
    max_total_notional: Decimal | None = _money(None)
    max_open_positions: int | None = Field(None, ge=1, le=32767)
    symbol_cooldown_seconds: int | None = Field(None, ge=0, le=2_147_483_647)
    risk_per_trade: Decimal | None = _fraction(None)
    min_order_notional: Decimal | None = _money(None)
    max_symbol_notional: Decimal | None = _money(None)
    max_asset_notional: Decimal | None = _money(None)
    require_stop_loss: bool | None = None
    daily_loss_limit: Decimal | None = _fraction(None)
    max_drawdown: Decimal | None = _fraction(None)
    reset_daily_halt_next_day: bool | None = None


class RiskProfileFilters(Schema):
    search: str | None = None
    ordering: Literal[selectors.RISK_PROFILE_ORDERINGS] = "name"  # type: ignore[valid-type]


risk_profile_router = crud_router(
    CrudSpec(
        model=RiskProfile,
        out=RiskProfileOut,
        create_in=RiskProfileIn,
        patch_in=RiskProfilePatch,
        filters=RiskProfileFilters,
        select=selectors.risk_profile_list,
        create=services.risk_profile_create,
        update=lambda profile, **kwargs: services.risk_profile_update(profile=profile, **kwargs),
        delete=lambda profile: services.risk_profile_delete(profile=profile),
    ),
    tags=["risk profiles"],
)


# --- traders -------------------------------------------------------------------------------------


class TraderOut(Schema):
    id: int
    name: str
    account: int
    account_name: str
    account_mode: ExchangeAccount.Mode
    risk_profile: int
    risk_profile_name: str
    live: bool
    halt: Halt
    halt_reason: str
    halted_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_account(obj: Trader) -> int:
        return obj.account_id

    @staticmethod
    def resolve_account_name(obj: Trader) -> str:
        return obj.account.name

    @staticmethod
    def resolve_account_mode(obj: Trader) -> str:
        return obj.account.mode

    @staticmethod
    def resolve_risk_profile(obj: Trader) -> int:
        return obj.risk_profile_id

    @staticmethod
    def resolve_risk_profile_name(obj: Trader) -> str:
        return obj.risk_profile.name

    @staticmethod
    def resolve_halt(obj: Trader) -> str:
        state = selectors.trader_risk_state_get(trader=obj)
        return state.halt if state else ""

    @staticmethod
    def resolve_halt_reason(obj: Trader) -> str:
        state = selectors.trader_risk_state_get(trader=obj)
        return state.halt_reason if state else ""

    @staticmethod
    def resolve_halted_at(obj: Trader) -> datetime | None:
        state = selectors.trader_risk_state_get(trader=obj)
        return state.halted_at if state else None


class TraderIn(InputSchema):
    name: str = Field(min_length=1, max_length=100)
    account: RowId = Field(description="Exchange account id.")
    risk_profile: RowId = Field(description="Risk profile id.")
    live: bool = Field(False, description="Only a trader on a live account may be live.")


class TraderPatch(InputSchema):
    name: str | None = Field(None, min_length=1, max_length=100)
    account: RowId | None = None
    risk_profile: RowId | None = None
    live: bool | None = None


class TraderFilters(Schema):
    account: RowId | None = None
    risk_profile: RowId | None = None
    live: bool | None = None
    halted: bool | None = None
    search: str | None = None
    ordering: Literal[selectors.TRADER_ORDERINGS] = "name"  # type: ignore[valid-type]


class ReasonIn(InputSchema):
    reason: str = Field(max_length=REASON_MAX_LENGTH, description="Why; it goes into the record.")


trader_router = crud_router(
    CrudSpec(
        model=Trader,
        out=TraderOut,
        create_in=TraderIn,
        patch_in=TraderPatch,
        filters=TraderFilters,
        select=selectors.trader_list,
        create=services.trader_create,
        update=lambda trader, **kwargs: services.trader_update(trader=trader, **kwargs),
        delete=lambda trader: services.trader_delete(trader=trader),
    ),
    tags=["traders"],
)


def _trader(trader_id: int) -> Trader:
    return get_object_or_404(selectors.trader_list(), pk=trader_id)


def _operator_action(action: str) -> Any:
    """POST /traders/{id}/<action>: operators only, with a reason."""
    name, answers = f"trader_{action}", {200: TraderOut, 404: ErrorOut}
    return trader_router.post(
        f"/{{trader_id}}/{action}", response=answers, auth=OPERATOR, url_name=name, operation_id=name
    )


@_operator_action("halt")
def trader_halt(request: HttpRequest, trader_id: RowId, payload: ReasonIn):
    trader = _trader(trader_id)
    services.trader_halt(trader=trader, reason=payload.reason, user=request.user)
    return _trader(trader_id)


@_operator_action("reset")
def trader_reset(request: HttpRequest, trader_id: RowId, payload: ReasonIn):
    trader = _trader(trader_id)
    services.trader_halt_reset(trader=trader, reason=payload.reason, user=request.user)
    return _trader(trader_id)


# --- the kill switch -----------------------------------------------------------------------------


class TraderHaltOut(Schema):
    id: int
    name: str
    halt: Halt
    halt_reason: str
    halted_at: datetime | None


class KillSwitchOut(Schema):
    engaged: bool
    reason: str
    changed_by: str | None
    changed_at: datetime | None
    traders: list[TraderHaltOut]


def _kill_switch_out(switch: KillSwitch) -> dict[str, Any]:
    traders = []
    for trader in selectors.trader_list():
        state = selectors.trader_risk_state_get(trader=trader)
        traders.append(
            {
                "id": trader.pk,
                "name": trader.name,
                "halt": state.halt if state else "",
                "halt_reason": state.halt_reason if state else "",
                "halted_at": state.halted_at if state else None,
            }
        )
    return {
        "engaged": switch.engaged,
        "reason": switch.reason,
        "changed_by": switch.changed_by.get_username() if switch.changed_by else None,
        "changed_at": switch.changed_at,
        "traders": traders,
    }


kill_switch_router = Router(tags=["kill switch"])


@kill_switch_router.get("", response=KillSwitchOut, url_name="kill_switch", operation_id="kill_switch_get")
def kill_switch_get(request: HttpRequest):
    return _kill_switch_out(selectors.kill_switch_get())


@kill_switch_router.post(
    "/engage", response=KillSwitchOut, auth=OPERATOR, url_name="kill_switch_engage", operation_id="kill_switch_engage"
)
def kill_switch_engage(request: HttpRequest, payload: ReasonIn):
    """Halt every trader at once. Engaging an engaged switch changes nothing."""
    return _kill_switch_out(services.kill_switch_engage(user=request.user, reason=payload.reason))


@kill_switch_router.post(
    "/release",
    response=KillSwitchOut,
    auth=OPERATOR,
    url_name="kill_switch_release",
    operation_id="kill_switch_release",
)
def kill_switch_release(request: HttpRequest, payload: ReasonIn):
    """Let traders trade again; each trader's own halt still holds."""
    return _kill_switch_out(services.kill_switch_release(user=request.user, reason=payload.reason))
