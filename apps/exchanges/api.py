from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError
from pydantic import SecretStr

from apps.core.auth import OPERATOR
from apps.core.crud import CrudSpec, crud_router
from apps.core.schemas import MAX_DB_INT, ErrorOut, InputSchema, RowId
from apps.core.throttles import TRADE_THROTTLES
from apps.exchanges import selectors, services
from apps.exchanges.adapters.base import OrderStatus, Position
from apps.exchanges.adapters.errors import (
    AdapterError,
    AuthenticationFailed,
    ExchangeUnavailable,
    InsufficientFunds,
    InvalidOrder,
    OrderNotFound,
    RateLimited,
)
from apps.exchanges.hooks import OrderCancelRefused
from apps.exchanges.models import ExchangeAccount
from apps.market.models import MAX_LEVERAGE, ExchangeId
from apps.secrets.schemas import SecretStatusOut, secret_inputs, secret_status_out


class ExchangeAccountOut(Schema):
    id: int
    name: str
    exchange: ExchangeId
    mode: ExchangeAccount.Mode
    paper_starting_balance: Decimal
    price_source: ExchangeAccount.PriceSource
    default_leverage: int
    margin_mode: ExchangeAccount.MarginMode
    api_key: SecretStatusOut
    api_secret: SecretStatusOut
    passphrase: SecretStatusOut
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_api_key(obj: ExchangeAccount) -> SecretStatusOut:
        return secret_status_out(obj.api_key)

    @staticmethod
    def resolve_api_secret(obj: ExchangeAccount) -> SecretStatusOut:
        return secret_status_out(obj.api_secret)

    @staticmethod
    def resolve_passphrase(obj: ExchangeAccount) -> SecretStatusOut:
        return secret_status_out(obj.passphrase)


class ExchangeAccountIn(InputSchema):
    name: str = Field(min_length=1, max_length=100)
    exchange: ExchangeId
    mode: ExchangeAccount.Mode = ExchangeAccount.Mode.PAPER
    paper_starting_balance: Decimal = Field(Decimal("10000"), gt=0, max_digits=20, decimal_places=8)
    price_source: ExchangeAccount.PriceSource = ExchangeAccount.PriceSource.REPLAY
    default_leverage: int = Field(1, ge=1, le=MAX_LEVERAGE)
    margin_mode: ExchangeAccount.MarginMode = ExchangeAccount.MarginMode.ISOLATED
    api_key: SecretStr | None = None
    api_secret: SecretStr | None = None
    passphrase: SecretStr | None = None


class ExchangeAccountPatch(InputSchema):
    """Fields left out stay as they are; a secret sent as null is removed."""

    name: str | None = Field(None, min_length=1, max_length=100)
    exchange: ExchangeId | None = None
    mode: ExchangeAccount.Mode | None = None
    paper_starting_balance: Decimal | None = Field(None, gt=0, max_digits=20, decimal_places=8)
    price_source: ExchangeAccount.PriceSource | None = None
    default_leverage: int | None = Field(None, ge=1, le=MAX_LEVERAGE)
    margin_mode: ExchangeAccount.MarginMode | None = None
    api_key: SecretStr | None = None
    api_secret: SecretStr | None = None
    passphrase: SecretStr | None = None


class AccountFilters(Schema):
    exchange: ExchangeId | None = None
    mode: ExchangeAccount.Mode | None = None
    search: str | None = None
    ordering: Literal[selectors.ORDERINGS] = "name"  # type: ignore[valid-type]


router = crud_router(
    CrudSpec(
        model=ExchangeAccount,
        out=ExchangeAccountOut,
        create_in=ExchangeAccountIn,
        patch_in=ExchangeAccountPatch,
        filters=AccountFilters,
        select=selectors.exchange_account_list,
        create=services.exchange_account_create,
        update=lambda account, **kwargs: services.exchange_account_update(account=account, **kwargs),
        delete=lambda account: services.exchange_account_delete(account=account),
        secret_fields=ExchangeAccount.SECRET_FIELDS,
        read_secrets=secret_inputs,
        four_eyes=True,
    ),
    tags=["exchange accounts"],
)


# --- trading: balances, positions, orders (mounted at the API root by tradeops.api) ------------------
# Any role reads; cancelling needs the operator role. An exchange failure answers 502/503 with the
# adapter's reason (adapter messages never carry keys), never a 500.

ORDER_PAGE_LIMIT = 100
ORDER_PAGE_MAX = 500
ADAPTER_ERROR_STATUS: tuple[tuple[type[AdapterError], int], ...] = (
    (OrderNotFound, 404),
    (InvalidOrder, 409),
    (InsufficientFunds, 409),
    (RateLimited, 503),
    (ExchangeUnavailable, 503),
    (AuthenticationFailed, 502),
    (AdapterError, 502),  # OrderStateUnknown and anything else the exchange did not answer cleanly
)


def adapter_http_error(account: ExchangeAccount, exc: AdapterError) -> HttpError:
    status = next(code for kind, code in ADAPTER_ERROR_STATUS if isinstance(exc, kind))
    return HttpError(status, f"{account.name} ({account.exchange}, {account.mode}): {type(exc).__name__}: {exc}")


class BalanceOut(Schema):
    currency: str
    total: Decimal
    free: Decimal
    used: Decimal


class PositionOut(Schema):
    account_id: int
    account: str
    symbol: str
    side: str
    amount: Decimal
    entry_price: Decimal
    mark_price: Decimal | None
    unrealized_pnl: Decimal
    leverage: int | None
    margin_mode: str | None
    liquidation_price: Decimal | None


class AccountErrorOut(Schema):
    account_id: int
    account: str
    error: str
    detail: str


class PositionsOut(Schema):
    positions: list[PositionOut]
    errors: list[AccountErrorOut]


class OrderOut(Schema):
    id: str
    client_order_id: str | None
    symbol: str
    side: str
    type: str
    status: str
    amount: Decimal
    filled: Decimal
    price: Decimal | None
    trigger_price: Decimal | None
    average_price: Decimal | None
    reduce_only: bool
    protective: bool
    fee: Decimal
    fee_currency: str | None
    timestamp: int = Field(description="Creation time, epoch milliseconds (UTC).")


class PositionFilters(Schema):
    account: RowId | None = None
    symbol: str | None = None


class OrderFilters(Schema):
    account: RowId
    symbol: str | None = None
    status: OrderStatus | None = None
    protective: bool | None = None
    limit: int = Field(ORDER_PAGE_LIMIT, ge=1, le=ORDER_PAGE_MAX)
    offset: int = Field(0, ge=0, le=MAX_DB_INT)


class OrderPage(Schema):
    """The shape of ninja's LimitOffsetPagination (the paginate decorator cannot read this module's
    string annotations, see apps.core.crud)."""

    items: list[OrderOut]
    count: int


def _position_out(account: ExchangeAccount, position: Position) -> dict[str, Any]:
    return {"account_id": account.pk, "account": account.name, **dataclasses.asdict(position)}


# What the exchange's failures answer (ADAPTER_ERROR_STATUS), for the OpenAPI document.
EXCHANGE_ERRORS = {404: ErrorOut, 409: ErrorOut, 502: ErrorOut, 503: ErrorOut}


def _account(account_id: int) -> ExchangeAccount:
    account = selectors.exchange_account_get(account_id=account_id)
    if account is None:
        raise HttpError(404, f"no exchange account {account_id}")
    return account


trading_router = Router(tags=["trading"])


@trading_router.get(
    "/exchanges/{account_id}/balance", response={200: list[BalanceOut], **EXCHANGE_ERRORS}, url_name="account_balance"
)
def account_balance(request: HttpRequest, account_id: RowId):
    account = _account(account_id)
    try:
        return selectors.account_balance(account=account)
    except AdapterError as exc:
        raise adapter_http_error(account, exc) from exc


@trading_router.get("/positions", response={200: PositionsOut, **EXCHANGE_ERRORS}, url_name="position_list")
def position_list(request: HttpRequest, filters: Query[PositionFilters]):
    if filters.account is None:
        found, failed = selectors.positions_all_accounts(symbol=filters.symbol)
        positions = [_position_out(item.account, item.position) for item in found]
        errors = [
            {
                "account_id": f.account.pk,
                "account": f.account.name,
                "error": type(f.error).__name__,
                "detail": str(f.error),
            }
            for f in failed
        ]
        return {"positions": positions, "errors": errors}
    account = _account(filters.account)
    try:
        positions = selectors.account_positions(account=account, symbol=filters.symbol)
    except AdapterError as exc:
        raise adapter_http_error(account, exc) from exc
    return {"positions": [_position_out(account, position) for position in positions], "errors": []}


@trading_router.get("/orders", response={200: OrderPage, **EXCHANGE_ERRORS}, url_name="order_list")
def order_list(request: HttpRequest, filters: Query[OrderFilters]):
    account = _account(filters.account)
    try:
        orders = selectors.account_orders(
            account=account, symbol=filters.symbol, status=filters.status, protective=filters.protective
        )
    except AdapterError as exc:
        raise adapter_http_error(account, exc) from exc
    return {"items": orders[filters.offset : filters.offset + filters.limit], "count": len(orders)}


@trading_router.post(
    "/orders/{account_id}/{order_id}/cancel",
    response={200: OrderOut, **EXCHANGE_ERRORS},
    auth=OPERATOR,
    throttle=TRADE_THROTTLES,
    url_name="order_cancel",
)
def order_cancel(request: HttpRequest, account_id: RowId, order_id: str):
    account = _account(account_id)
    try:
        order = selectors.account_order_find(account=account, order_id=order_id)
        if order is None:
            raise HttpError(404, f"no order {order_id} on {account.name}")
        return services.order_cancel(account=account, order=order)
    except OrderCancelRefused as exc:
        raise HttpError(409, str(exc)) from exc
    except AdapterError as exc:
        raise adapter_http_error(account, exc) from exc
