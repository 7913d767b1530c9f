"""The one NinjaAPI, mounted at /api/v1/. Each app contributes a Router from apps/<app>/api.py."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import ValidationError

from apps.ai.api import router as ai_router
from apps.backtests.api import router as backtests_router
from apps.core.auth import RoleSessionAuth
from apps.core.errors import ServiceValidationError
from apps.exchanges.api import router as exchanges_router
from apps.market.api import router as market_router
from apps.signals.api import router as signals_router
from apps.strategies.api import router as strategies_router
from apps.traders.services.errors import ExchangeUnreachable, TradeConflict, TradeRefused

api = NinjaAPI(
    title="TradeOps API",
    version="1",
    urls_namespace="api",
    auth=RoleSessionAuth(),
    docs_decorator=login_required,
)


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    # pydantic echoes the rejected input in each error; that input may be an API key, so the
    # answer names the field and the reason only.
    errors = [{"loc": list(error.get("loc", ())), "msg": error.get("msg", "invalid")} for error in exc.errors]
    return api.create_response(request, {"detail": errors}, status=422)


@api.exception_handler(ServiceValidationError)
def service_validation_error(request: HttpRequest, exc: ServiceValidationError) -> HttpResponse:
    return api.create_response(request, {"detail": [{"loc": ["body", exc.field], "msg": exc.message}]}, status=422)


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
api.add_router("", "apps.exchanges.api.trading_router")  # /exchanges/{id}/balance, /positions, /orders
api.add_router("/trade", "apps.traders.trade_api.router")
