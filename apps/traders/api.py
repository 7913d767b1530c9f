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
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from apps.core.auth import OPERATOR
from apps.core.crud import CrudSpec, crud_router, pending_answer
from apps.core.schemas import MAX_DB_INT, ErrorOut, InputSchema, PendingChangesOut, RowId, ValidationErrorOut
from apps.core.throttles import API_THROTTLES, TRADE_THROTTLES
from apps.exchanges.models import ExchangeAccount
from apps.market.models import MAX_LEVERAGE
from apps.traders import selectors, services
from apps.traders.models import HALT_CHOICES, KillSwitch, RiskProfile, Trader
from apps.traders.services.preview import trader_prompt_preview as trader_prompt_preview_build

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
        four_eyes=True,
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
    strategy: int | None = Field(description="Strategy id; null: the trader cannot run.")
    strategy_name: str | None
    strategy_version: int | None = Field(description="The pinned version; null follows the latest.")
    markets: list[int]
    market_symbols: list[str]
    decision_mode: Trader.DecisionMode
    ai_model_config: int | None = Field(description="AI mode: the model config asked.")
    prompt_template: int | None = Field(description="AI mode: the prompt template; null: the default template.")
    ai_ask: Trader.AiAsk
    ai_daily_token_budget: int | None
    ai_daily_cost_budget: Decimal | None
    sizing: Trader.Sizing
    sizing_pct: Decimal
    leverage: int
    stop_loss: Trader.Level
    stop_loss_value: Decimal
    take_profit: Trader.Level
    take_profit_value: Decimal
    atr_period: int
    status: Trader.Status
    status_reason: str
    last_cycle_at: datetime | None
    heartbeat_at: datetime | None
    halt: Halt
    halt_reason: str
    halted_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_strategy(obj: Trader) -> int | None:
        return obj.strategy_id

    @staticmethod
    def resolve_ai_model_config(obj: Trader) -> int | None:
        return obj.ai_model_config_id

    @staticmethod
    def resolve_prompt_template(obj: Trader) -> int | None:
        return obj.prompt_template_id

    @staticmethod
    def resolve_strategy_name(obj: Trader) -> str | None:
        return obj.strategy.name if obj.strategy else None

    @staticmethod
    def resolve_markets(obj: Trader) -> list[int]:
        return [market.pk for market in obj.markets.all()]

    @staticmethod
    def resolve_market_symbols(obj: Trader) -> list[str]:
        return [market.symbol for market in obj.markets.all()]

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


MAX_VERSION = 2_147_483_647  # the PositiveIntegerField's range on every database


def _percent(default: Any = ...) -> Any:
    return Field(default, gt=0, le=100, max_digits=7, decimal_places=4, description="Percent of equity.")


def _level(default: Any = ...) -> Any:
    return Field(default, ge=0, max_digits=10, decimal_places=4, description="Percent from the fill, or ATR multiples.")


def _budget(default: Any = ...) -> Any:
    return Field(default, ge=0, max_digits=12, decimal_places=4, description="Cost per UTC day; null: no limit.")


class TraderIn(InputSchema):
    """Left out: the model's defaults. The service checks the rest (markets on the account's exchange,
    a pinned version that exists, risk sizing with a stop-loss) and answers 422 naming the field."""

    name: str = Field(min_length=1, max_length=100)
    account: RowId = Field(description="Exchange account id.")
    risk_profile: RowId = Field(description="Risk profile id.")
    live: bool = Field(False, description="Only a trader on a live account may be live.")
    strategy: RowId | None = Field(None, description="Strategy id.")
    strategy_version: int | None = Field(None, ge=1, le=MAX_VERSION, description="Pin a version; null: the latest.")
    markets: list[RowId] = Field([], max_length=100, description="Market ids, on the account's exchange.")
    decision_mode: Trader.DecisionMode = Trader.DecisionMode.RULES
    ai_model_config: RowId | None = Field(None, description="Model config id; required in AI mode.")
    prompt_template: RowId | None = Field(None, description="Prompt template id; null: the default template.")
    ai_ask: Trader.AiAsk = Trader.AiAsk.SIGNAL
    ai_daily_token_budget: int | None = Field(None, ge=0, le=MAX_DB_INT, description="Tokens per UTC day; null: none.")
    ai_daily_cost_budget: Decimal | None = _budget(None)
    sizing: Trader.Sizing = Trader.Sizing.RISK
    sizing_pct: Decimal = _percent(Decimal(1))
    leverage: int = Field(1, ge=1, le=MAX_LEVERAGE)
    stop_loss: Trader.Level = Trader.Level.PERCENT
    stop_loss_value: Decimal = _level(Decimal(2))
    take_profit: Trader.Level = Trader.Level.PERCENT
    take_profit_value: Decimal = _level(Decimal(4))
    atr_period: int = Field(14, ge=1, le=services.MAX_ATR_PERIOD)


class TraderPatch(InputSchema):
    """Fields left out stay as they are; null strategy or strategy_version clears it."""

    name: str | None = Field(None, min_length=1, max_length=100)
    account: RowId | None = None
    risk_profile: RowId | None = None
    live: bool | None = None
    strategy: RowId | None = None
    strategy_version: int | None = Field(None, ge=1, le=MAX_VERSION)
    markets: list[RowId] | None = Field(None, max_length=100)
    decision_mode: Trader.DecisionMode | None = None
    ai_model_config: RowId | None = None
    prompt_template: RowId | None = None
    ai_ask: Trader.AiAsk | None = None
    ai_daily_token_budget: int | None = Field(None, ge=0, le=MAX_DB_INT)
    ai_daily_cost_budget: Decimal | None = _budget(None)
    sizing: Trader.Sizing | None = None
    sizing_pct: Decimal | None = _percent(None)
    leverage: int | None = Field(None, ge=1, le=MAX_LEVERAGE)
    stop_loss: Trader.Level | None = None
    stop_loss_value: Decimal | None = _level(None)
    take_profit: Trader.Level | None = None
    take_profit_value: Decimal | None = _level(None)
    atr_period: int | None = Field(None, ge=1, le=services.MAX_ATR_PERIOD)


class TraderFilters(Schema):
    account: RowId | None = None
    risk_profile: RowId | None = None
    live: bool | None = None
    halted: bool | None = None
    status: Trader.Status | None = None
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
        four_eyes=True,
    ),
    tags=["traders"],
)


def _trader(trader_id: int) -> Trader:
    return get_object_or_404(selectors.trader_list(), pk=trader_id)


def _operator_action(action: str) -> Any:
    """POST /traders/{id}/<action>: operators only, with a reason. A live trader's reset answers 202: it
    waits for a second admin (four-eyes)."""
    name, answers = f"trader_{action}", {200: TraderOut, 202: PendingChangesOut, 404: ErrorOut}
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
    state = services.trader_halt_reset(trader=trader, reason=payload.reason, user=request.user)
    return pending_answer(state, row_id=trader.pk) or _trader(trader_id)


class StartIn(InputSchema):
    confirmation: str = Field(
        "", max_length=200, description="A live account's trader: the account's name, typed by the operator."
    )


class TraderStatusOut(Schema):
    status: Trader.Status
    reason: str
    last_cycle_at: datetime | None
    heartbeat_at: datetime | None
    heartbeat_stale: bool = Field(
        description="Running (or halted) with no cycle for two intervals of its timeframe: no worker runs it."
    )
    open_positions: int = Field(description="Its plans that hold a position.")


def _switch_action(action: str, throttle: list[Any]) -> Any:
    """POST /traders/{id}/start|stop: operators only; 409 when the trader is already there."""
    name, answers = f"trader_{action}", {200: TraderOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}
    return trader_router.post(
        f"/{{trader_id}}/{action}",
        response=answers,
        auth=OPERATOR,
        throttle=throttle,
        url_name=name,
        operation_id=name,
    )


# Starting trades (the stricter trade limit); stopping never waits on more than the general one.
@_switch_action("start", TRADE_THROTTLES)
def trader_start(request: HttpRequest, trader_id: RowId, payload: StartIn):
    """Start the trader's cycles (body `{}`, or `{"confirmation": ...}` for a live account). It needs a
    strategy and a market (422 naming the field). A live account's trader also needs
    LIVE_TRADING_ENABLED and its live flag (403) and the account's name as `confirmation` (422)."""
    services.trader_start(trader=_trader(trader_id), user=request.user, confirmation=payload.confirmation, strict=True)
    return _trader(trader_id)


@_switch_action("stop", API_THROTTLES)
def trader_stop(request: HttpRequest, trader_id: RowId):
    """Stop the trader's cycles; open positions keep their stop-loss and take-profit."""
    services.trader_stop(trader=_trader(trader_id), user=request.user, strict=True)
    return _trader(trader_id)


@trader_router.get(
    "/{trader_id}/status",
    response={200: TraderStatusOut, 404: ErrorOut},
    url_name="trader_status",
    operation_id="trader_status",
)
def trader_status(request: HttpRequest, trader_id: RowId):
    return selectors.trader_status_get(trader=_trader(trader_id), now=timezone.now())


class PromptPreviewOut(Schema):
    trader_id: int
    market_id: int
    symbol: str
    candle_open_time: datetime = Field(description="The newest released candle the prompt is built on (UTC).")
    decision_mode: Trader.DecisionMode
    would_ask: bool = Field(description="Whether the trader would ask its model on this candle.")
    note: str
    template: str
    template_version: int
    system: str
    user: str
    response_schema: dict[str, Any] = Field(description="The JSON Schema the answer must follow.")
    tokens_estimate: int
    token_budget: int
    trimmed: str = Field(description="What the token budget cut, empty when nothing.")
    prompt_hash: str = Field(description="The replay key of this exact prompt.")


class PromptPreviewFilters(Schema):
    market: RowId | None = Field(None, description="Market id (one of the trader's); its first market by default.")


@trader_router.get(
    "/{trader_id}/prompt-preview",
    response={200: PromptPreviewOut, 404: ErrorOut, 422: ValidationErrorOut},
    url_name="trader_prompt_preview",
    operation_id="trader_prompt_preview",
)
def trader_prompt_preview(request: HttpRequest, trader_id: RowId, filters: Query[PromptPreviewFilters]):
    """Exactly what the trader would send its model on the newest released candle (no model is asked,
    and no secret is ever part of a prompt). 422 names what is missing: a strategy, a market, a candle."""
    preview = trader_prompt_preview_build(trader=_trader(trader_id), market_id=filters.market)
    built = preview.built
    return {
        "trader_id": preview.trader.pk,
        "market_id": preview.market.pk,
        "symbol": preview.market.symbol,
        "candle_open_time": preview.candle,
        "decision_mode": preview.trader.decision_mode,
        "would_ask": preview.would_ask,
        "note": preview.note,
        "template": built.template.name,
        "template_version": built.template.version,
        "system": built.prompt.system,
        "user": built.prompt.user,
        "response_schema": preview.schema,
        "tokens_estimate": built.rendered.tokens,
        "token_budget": built.template.max_prompt_tokens,
        "trimmed": built.rendered.trimmed,
        "prompt_hash": built.prompt.hash(),
    }


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
    response={200: KillSwitchOut, 202: PendingChangesOut},
    auth=OPERATOR,
    url_name="kill_switch_release",
    operation_id="kill_switch_release",
)
def kill_switch_release(request: HttpRequest, payload: ReasonIn):
    """Let traders trade again; each trader's own halt still holds. Releasing an engaged switch waits for a
    second admin: 202 with the change request (four-eyes)."""
    switch = services.kill_switch_release(user=request.user, reason=payload.reason)
    return pending_answer(switch, row_id=switch.pk) or _kill_switch_out(switch)
