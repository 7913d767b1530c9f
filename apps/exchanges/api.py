from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from ninja import Field, Schema
from pydantic import SecretStr

from apps.core.crud import CrudSpec, crud_router
from apps.exchanges import selectors, services
from apps.exchanges.models import MAX_LEVERAGE, ExchangeAccount
from apps.market.models import ExchangeId
from apps.secrets.schemas import SecretStatusOut, secret_status_out


class ExchangeAccountOut(Schema):
    id: int
    name: str
    exchange: ExchangeId
    mode: ExchangeAccount.Mode
    paper_starting_balance: Decimal
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


class ExchangeAccountIn(Schema):
    name: str = Field(min_length=1, max_length=100)
    exchange: ExchangeId
    mode: ExchangeAccount.Mode = ExchangeAccount.Mode.PAPER
    paper_starting_balance: Decimal = Field(Decimal("10000"), gt=0, max_digits=20, decimal_places=8)
    default_leverage: int = Field(1, ge=1, le=MAX_LEVERAGE)
    margin_mode: ExchangeAccount.MarginMode = ExchangeAccount.MarginMode.ISOLATED
    api_key: SecretStr | None = None
    api_secret: SecretStr | None = None
    passphrase: SecretStr | None = None


class ExchangeAccountPatch(Schema):
    """Fields left out stay as they are; a secret sent as null is removed."""

    name: str | None = Field(None, min_length=1, max_length=100)
    exchange: ExchangeId | None = None
    mode: ExchangeAccount.Mode | None = None
    paper_starting_balance: Decimal | None = Field(None, gt=0, max_digits=20, decimal_places=8)
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
    ),
    tags=["exchange accounts"],
)
