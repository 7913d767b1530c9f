"""The one NinjaAPI, mounted at /api/v1/. Each app contributes a Router from apps/<app>/api.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import ValidationError

from apps.ai.api import router as ai_router
from apps.backtests.api import router as backtests_router
from apps.core.auth import VIEWER
from apps.core.errors import RowInUse, ServiceValidationError
from apps.core.roles import Role, role_required
from apps.core.schemas import TextSafeParser, document_error_answers
from apps.core.throttles import API_THROTTLES
from apps.exchanges.api import router as exchanges_router
from apps.market.api import router as market_router
from apps.signals.api import router as signals_router
from apps.strategies.api import router as strategies_router
from apps.traders.services.errors import ExchangeUnreachable, TradeConflict, TradeRefused


def viewers_only(view: Callable) -> Callable:
    """The docs and the schema, like every endpoint: a login (else the login page), then a role (403)."""
    return login_required(role_required(Role.VIEWER)(view))


class TradeOpsAPI(NinjaAPI):
    def get_openapi_schema(self, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(**kwargs)
        document_error_answers(schema)
        return schema


api = TradeOpsAPI(
    title="TradeOps API",
    version="1",
    urls_namespace="api",
    auth=VIEWER,
    throttle=API_THROTTLES,
    docs_decorator=viewers_only,
    parser=TextSafeParser(),
)


def field_errors(request: HttpRequest, errors: list[dict[str, Any]]) -> HttpResponse:
    """The 422 answer (apps.core.schemas.ValidationErrorOut)."""
    return api.create_response(request, {"detail": errors}, status=422)


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    # pydantic echoes the rejected input in each error; that input may be an API key, so the
    # answer names the field and the reason only.
    return field_errors(
        request, [{"loc": list(error.get("loc", ())), "msg": error.get("msg", "invalid")} for error in exc.errors]
    )


@api.exception_handler(ServiceValidationError)
def service_validation_error(request: HttpRequest, exc: ServiceValidationError) -> HttpResponse:
    return field_errors(request, exc.field_errors())


@api.exception_handler(RowInUse)
def row_in_use(request: HttpRequest, exc: RowInUse) -> HttpResponse:
    used_by = [{"model": kind, "count": count} for kind, count in exc.used_by.items()]
    detail = f"The {exc.field} {exc.message}. Nothing was deleted."
    return api.create_response(request, {"detail": detail, "used_by": used_by}, status=409)


@api.exception_handler(ObjectDoesNotExist)
def row_gone(request: HttpRequest, exc: ObjectDoesNotExist) -> HttpResponse:
    # Services re-read the row they change under a lock; a DELETE committed between the endpoint's
    # lookup and that re-read leaves nothing to change (a PATCH racing a DELETE).
    return api.create_response(request, {"detail": "Not found: it was deleted meanwhile."}, status=404)


@api.exception_handler(TradeConflict)
def trade_conflict(request: HttpRequest, exc: TradeConflict) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc)}, status=409)


@api.exception_handler(TradeRefused)
def trade_refused(request: HttpRequest, exc: TradeRefused) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc)}, status=403)


@api.exception_handler(ExchangeUnreachable)
def exchange_unreachable(request: HttpRequest, exc: ExchangeUnreachable) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc)}, status=503)


api.add_router("/exchange-accounts", exchanges_router)
api.add_router("/model-configs", ai_router)
api.add_router("/markets", market_router)
api.add_router("/strategies", strategies_router)
api.add_router("/signals", signals_router)
api.add_router("/backtests", backtests_router)
api.add_router("/risk-profiles", "apps.traders.api.risk_profile_router")
api.add_router("/traders", "apps.traders.api.trader_router")
api.add_router("/kill-switch", "apps.traders.api.kill_switch_router")
api.add_router("/approvals", "apps.traders.approval_api.router")
api.add_router("/alert-channels", "apps.traders.alert_api.router")
api.add_router("", "apps.exchanges.api.trading_router")  # /exchanges/{id}/balance, /positions, /orders
api.add_router("/trade", "apps.traders.trade_api.router")
api.add_router("/charts", "apps.traders.chart_api.router")
api.add_router("/pnl", "apps.traders.pnl_api.router")
api.add_router("/decisions", "apps.audit.api.router")
api.add_router("/chains", "apps.traders.chain_api.router")
api.add_router("/news", "apps.news.api.router")
api.add_router("/sentiment", "apps.news.api.sentiment_router")
