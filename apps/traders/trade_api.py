"""/api/v1/trade: preview and execute trade plans, list and inspect them, cancel and close them,
and the operators' alerts.

Every role reads; previewing, executing, cancelling, closing and acknowledging need the operator
role, checked by the endpoint's auth before the body is read (a viewer gets 403 whatever it sends).

POST /execute takes an optional Idempotency-Key header (apps.core.idempotency): the first answer
for a key is stored and a repeat gets exactly that answer without executing again.
"""

# No `from __future__ import annotations` here: ninja reads the endpoint annotations at runtime,
# and the paginate wrapper cannot resolve string annotations.
import json
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest, JsonResponse
from ninja import Field, Header, Query, Router, Schema
from ninja.errors import HttpError
from ninja.pagination import paginate
from ninja.responses import NinjaJSONEncoder, Status
from pydantic import PlainSerializer

from apps.core.auth import OPERATOR
from apps.core.errors import ServiceValidationError
from apps.core.idempotency import HEADER, idempotent
from apps.core.numbers import plain_number
from apps.core.paging import Pagination
from apps.core.schemas import ErrorOut, InputSchema, RowId, ValidationErrorOut
from apps.core.throttles import TRADE_THROTTLES
from apps.market.models import MAX_LEVERAGE
from apps.traders import selectors
from apps.traders.models import Alert, TradePlan
from apps.traders.services.alerts import alert_acknowledge as alert_acknowledge_service
from apps.traders.services.errors import ExchangeUnreachable, TradeConflict, TradeRefused
from apps.traders.services.plans import (
    PlanInput,
    live_confirmation_phrase,
    trade_plan_cancel,
    trade_plan_close,
    trade_plan_execute,
    trade_plan_preview,
)

EXECUTE_SCOPE = "trade.execute"
AMOUNT = {"max_digits": 30, "decimal_places": 12}  # apps.market.models.PRICE_DIGITS


# The database keeps 12 decimal places; the answer shows the value (0.2, 20000), as a string.
Amount = Annotated[Decimal, PlainSerializer(plain_number, return_type=str)]


router = Router(tags=["trade"])


# --- schemas -------------------------------------------------------------------------------------


class PreviewIn(InputSchema):
    """Bounds here answer 422 before anything is looked up; the service checks the rest (the market,
    the sides of the stop-loss and take-profit, the market's leverage) and also answers 422."""

    trader_id: RowId
    symbol: str = Field(min_length=1, max_length=64)
    side: Literal["buy", "sell"]
    order_type: Literal["market", "limit"] = "market"
    quantity: Decimal | None = Field(None, gt=0, description="Empty: sized by the risk profile.", **AMOUNT)
    entry_price: Decimal | None = Field(None, gt=0, description="Limit orders only.", **AMOUNT)
    stop_loss: Decimal | None = Field(None, gt=0, **AMOUNT)
    take_profit: Decimal | None = Field(None, gt=0, **AMOUNT)
    leverage: int | None = Field(None, ge=1, le=MAX_LEVERAGE, description="Empty: the account's default.")
    reason: str = Field("", max_length=500)


class ExecuteIn(InputSchema):
    plan_id: RowId
    confirmation: str = Field("", max_length=200, description="Live plans: the account's name, typed.")


class RiskCheckOut(Schema):
    rule: str
    value: str
    limit: str
    verdict: str
    message: str


class RiskReportOut(Schema):
    decision: str
    quantity: Amount
    requested_quantity: Amount | None
    checks: list[RiskCheckOut]


class EstimateOut(Schema):
    notional: Amount | None = None
    fee_rate: Amount | None = None
    entry_fee: Amount | None = None
    margin: Amount | None = None
    liquidation_price: Amount | None = None
    loss_at_stop: Amount | None = None
    gain_at_target: Amount | None = None


def _username(user: AbstractBaseUser | None) -> str | None:
    return user.get_username() if user is not None else None


class PlanOut(Schema):
    id: int
    status: TradePlan.Status
    status_reason: str
    trader_id: int
    trader: str
    account_id: int
    account: str
    symbol: str
    side: str
    order_type: str
    requested_quantity: Amount | None
    quantity: Amount
    entry_price: Amount | None
    reference_price: Amount
    stop_loss: Amount | None
    take_profit: Amount | None
    leverage: int
    live: bool
    source: str
    source_ref: str
    reason: str
    filled_quantity: Amount
    average_entry_price: Amount | None
    exit_price: Amount | None
    close_reason: str
    exit_requested: bool
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    submitted_at: datetime | None

    @staticmethod
    def resolve_trader(obj: TradePlan) -> str:
        return obj.trader.name

    @staticmethod
    def resolve_account(obj: TradePlan) -> str:
        return obj.account.name

    @staticmethod
    def resolve_symbol(obj: TradePlan) -> str:
        return obj.market.symbol

    @staticmethod
    def resolve_created_by(obj: TradePlan) -> str | None:
        return _username(obj.created_by)


class PreviewOut(PlanOut):
    estimate: EstimateOut | None
    risk_report: RiskReportOut | None
    confirmation_required: bool = Field(description="Live plans: execute needs the typed confirmation.")
    confirmation_phrase: str | None = Field(description="What to type to confirm (live plans only).")

    @staticmethod
    def resolve_estimate(obj: TradePlan) -> dict | None:
        return obj.estimate if isinstance(obj.estimate, dict) and obj.estimate else None

    @staticmethod
    def resolve_risk_report(obj: TradePlan) -> dict | None:
        # Rows written outside the services (tests, old data) may lack a report.
        return obj.risk_report if isinstance(obj.risk_report, dict) and "decision" in obj.risk_report else None

    @staticmethod
    def resolve_confirmation_required(obj: TradePlan) -> bool:
        return obj.live

    @staticmethod
    def resolve_confirmation_phrase(obj: TradePlan) -> str | None:
        return live_confirmation_phrase(obj) if obj.live else None


class ExecutionOut(Schema):
    id: int
    leg: str
    attempt: int
    client_order_id: str
    side: str
    order_type: str
    amount: Amount
    price: Amount | None
    trigger_price: Amount | None
    reduce_only: bool
    status: str
    exchange_order_id: str
    filled: Amount
    average_price: Amount | None
    fee: Amount
    fee_currency: str
    send_count: int
    last_error: str
    created_at: datetime
    updated_at: datetime


class PlanEventOut(Schema):
    at: datetime
    from_status: str
    to_status: str
    reason: str
    exchange_ref: str
    execution_id: int | None
    actor: str | None

    @staticmethod
    def resolve_actor(obj: Any) -> str | None:
        return _username(obj.actor)


class AlertOut(Schema):
    id: int
    level: Alert.Level
    kind: Alert.Kind
    message: str
    subject: str = Field(description="What the alert is about ('plan:12', 'trader:3'): its cooldown's key.")
    notified: bool = Field(description="Sent to the channels (false: its rule is off or its cooldown held it back).")
    account_id: int | None
    plan_id: int | None
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None

    @staticmethod
    def resolve_acknowledged_by(obj: Alert) -> str | None:
        return _username(obj.acknowledged_by)


class PlanResultOut(Schema):
    """Full precision, in the quote currency; the pages round it to cents."""

    entry_quantity: Amount
    closed_quantity: Amount
    fees: Amount = Field(description="Every execution's fee, in the quote currency.")
    gross_pnl: Amount | None = Field(description="Empty until part of the position is closed.")
    realised_pnl: Amount | None = Field(description="Gross PnL less the fees; empty until part is closed.")
    fees_complete: bool = Field(description="False when a fee in a third currency could not be priced.")


class PlanDetailOut(PreviewOut):
    executions: list[ExecutionOut]
    events: list[PlanEventOut]
    alerts: list[AlertOut] = Field(description="The plan's unacknowledged alerts.")
    result: PlanResultOut

    @staticmethod
    def resolve_result(obj: TradePlan) -> PlanResultOut:
        return PlanResultOut.model_validate(selectors.trade_plan_result(plan=obj), from_attributes=True)

    @staticmethod
    def resolve_executions(obj: TradePlan) -> list:
        return list(obj.executions.all())

    @staticmethod
    def resolve_events(obj: TradePlan) -> list:
        return list(obj.events.all())

    @staticmethod
    def resolve_alerts(obj: TradePlan) -> list:
        if hasattr(obj, "open_alerts"):  # prefetched by selectors.trade_plan_get
            return obj.open_alerts
        return list(obj.alerts.filter(acknowledged_at__isnull=True))


class PlanFilters(Schema):
    status: TradePlan.Status | None = None
    trader_id: RowId | None = None
    account_id: RowId | None = None
    symbol: str | None = None
    ordering: Literal[selectors.PLAN_ORDERINGS] = "-created_at"  # type: ignore[valid-type]


class AlertFilters(Schema):
    acknowledged: bool | None = None
    plan_id: RowId | None = None


# --- helpers -------------------------------------------------------------------------------------


def _plan(plan_id: int) -> TradePlan:
    plan = selectors.trade_plan_get(plan_id=plan_id)
    if plan is None:
        raise HttpError(404, f"no trade plan {plan_id}")
    return plan


def plan_json(plan_id: int) -> dict[str, Any]:
    """The plan as the detail endpoint answers it, as plain JSON (what an idempotent answer stores)."""
    data = PlanDetailOut.from_orm(_plan(plan_id)).model_dump()
    return json.loads(json.dumps(data, cls=NinjaJSONEncoder))


def _execute_answer(request: HttpRequest, payload: ExecuteIn) -> tuple[int, Any]:
    """The answer of one execute request; errors the caller can act on are answers too, so that they
    are stored with the Idempotency-Key like a success."""
    try:
        plan = trade_plan_execute(plan_id=payload.plan_id, user=request.user, confirmation=payload.confirmation)
    except TradePlan.DoesNotExist:
        return 404, {"detail": f"no trade plan {payload.plan_id}"}
    except ServiceValidationError as exc:
        return 422, {"detail": [{"loc": ["body", exc.field], "msg": exc.message}]}
    except TradeConflict as exc:
        return 409, {"detail": str(exc)}
    except TradeRefused as exc:
        return 403, {"detail": str(exc)}
    except ExchangeUnreachable as exc:
        return 503, {"detail": str(exc)}
    return 200, plan_json(plan.pk)


# --- endpoints -----------------------------------------------------------------------------------


@router.post(
    "/preview",
    response={201: PreviewOut, 422: ValidationErrorOut, 503: ErrorOut},
    auth=OPERATOR,
    throttle=TRADE_THROTTLES,
    url_name="trade_preview",
)
def plan_preview(request: HttpRequest, payload: PreviewIn):
    """Validate, ask the risk gate and estimate; nothing is sent. A plan the risk gate rejects is
    stored too (status `rejected`, with the report that says why)."""
    plan = trade_plan_preview(plan=PlanInput(**payload.dict()), user=request.user)
    return Status(201, plan)


@router.post(
    "/execute",
    response={
        200: PlanDetailOut,
        403: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        422: ValidationErrorOut,
        503: ErrorOut,
    },
    auth=OPERATOR,
    throttle=TRADE_THROTTLES,
    url_name="trade_execute",
)
def plan_execute(
    request: HttpRequest,
    payload: ExecuteIn,
    idempotency_key: str | None = Header(
        None,
        alias=HEADER,
        description="1-100 printable characters. A repeat with the same key and body gets the first answer.",
    ),
):
    """Send a previewed plan: live safeguards (403), the risk gate again (403 when it now rejects),
    then the state machine runs in a worker. Answers the plan as it is when handed over (pending)."""
    status, body = idempotent(
        user=request.user,
        scope=EXECUTE_SCOPE,
        key=idempotency_key,
        body=payload.dict(),
        handler=lambda: _execute_answer(request, payload),
    )
    return JsonResponse(body, status=status, safe=False)


@router.get("/plans", response=list[PlanOut], url_name="trade_plan_list")
@paginate(Pagination)
def plan_list(request: HttpRequest, filters: Query[PlanFilters]):
    return selectors.trade_plan_list(
        status=filters.status,
        trader_id=filters.trader_id,
        account_id=filters.account_id,
        symbol=filters.symbol,
        ordering=filters.ordering,
    )


@router.get("/plans/{plan_id}", response=PlanDetailOut, url_name="trade_plan_detail")
def plan_detail(request: HttpRequest, plan_id: RowId):
    return _plan(plan_id)


@router.post(
    "/plans/{plan_id}/cancel",
    response={200: PlanDetailOut, 409: ErrorOut},
    auth=OPERATOR,
    throttle=TRADE_THROTTLES,
    url_name="trade_plan_cancel",
)
def plan_cancel(request: HttpRequest, plan_id: RowId):
    """A preview is cancelled at once; a sent entry order is cancelled by the worker (exit_requested)."""
    trade_plan_cancel(plan=_plan(plan_id), user=request.user)
    return _plan(plan_id)


@router.post(
    "/plans/{plan_id}/close",
    response={200: PlanDetailOut, 409: ErrorOut},
    auth=OPERATOR,
    throttle=TRADE_THROTTLES,
    url_name="trade_plan_close",
)
def plan_close(request: HttpRequest, plan_id: RowId):
    """Close the position at market (the worker does it; exit_requested is set at once)."""
    trade_plan_close(plan=_plan(plan_id), user=request.user)
    return _plan(plan_id)


@router.get("/alerts", response=list[AlertOut], url_name="trade_alert_list")
@paginate(Pagination)
def alert_list(request: HttpRequest, filters: Query[AlertFilters]):
    """Unacknowledged first, then newest first."""
    return selectors.alert_list(acknowledged=filters.acknowledged, plan_id=filters.plan_id)


@router.post("/alerts/{alert_id}/acknowledge", response=AlertOut, auth=OPERATOR, url_name="trade_alert_acknowledge")
def alert_acknowledge(request: HttpRequest, alert_id: RowId):
    alert = selectors.alert_get(alert_id=alert_id)
    if alert is None:
        raise HttpError(404, f"no alert {alert_id}")
    return alert_acknowledge_service(alert=alert, user=request.user)
