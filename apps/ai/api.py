from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from ninja import Field, Schema
from pydantic import SecretStr

from apps.ai import selectors, services
from apps.ai.models import MAX_TIMEOUT_SECONDS, MAX_TOKENS_LIMIT, ModelConfig
from apps.core.crud import CrudSpec, crud_router
from apps.core.schemas import MAX_DB_INT, InputSchema
from apps.secrets.schemas import SecretStatusOut, secret_inputs, secret_status_out

# An http(s) URL, or empty for providers that need none.
URL_PATTERN = r"^(https?://[^\s/]+\S*)?$"


class ModelConfigOut(Schema):
    id: int
    name: str
    provider: ModelConfig.Provider
    model: str
    base_url: str
    api_key: SecretStatusOut
    temperature: Decimal
    max_tokens: int
    timeout_seconds: int
    daily_token_budget: int
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_api_key(obj: ModelConfig) -> SecretStatusOut:
        return secret_status_out(obj.api_key)


class ModelConfigIn(InputSchema):
    name: str = Field(min_length=1, max_length=100)
    provider: ModelConfig.Provider
    model: str = Field(min_length=1, max_length=300)
    base_url: str = Field("", max_length=200, pattern=URL_PATTERN)
    api_key: SecretStr | None = None
    temperature: Decimal = Field(Decimal("0.20"), ge=0, le=2, decimal_places=2)
    max_tokens: int = Field(1024, ge=1, le=MAX_TOKENS_LIMIT)
    timeout_seconds: int = Field(60, ge=1, le=MAX_TIMEOUT_SECONDS)
    daily_token_budget: int = Field(200_000, ge=0, le=MAX_DB_INT)


class ModelConfigPatch(InputSchema):
    """Fields left out stay as they are; an api_key sent as null is removed."""

    name: str | None = Field(None, min_length=1, max_length=100)
    provider: ModelConfig.Provider | None = None
    model: str | None = Field(None, min_length=1, max_length=300)
    base_url: str | None = Field(None, max_length=200, pattern=URL_PATTERN)
    api_key: SecretStr | None = None
    temperature: Decimal | None = Field(None, ge=0, le=2, decimal_places=2)
    max_tokens: int | None = Field(None, ge=1, le=MAX_TOKENS_LIMIT)
    timeout_seconds: int | None = Field(None, ge=1, le=MAX_TIMEOUT_SECONDS)
    daily_token_budget: int | None = Field(None, ge=0, le=MAX_DB_INT)


class ModelConfigFilters(Schema):
    provider: ModelConfig.Provider | None = None
    search: str | None = None
    ordering: Literal[selectors.ORDERINGS] = "name"  # type: ignore[valid-type]


router = crud_router(
    CrudSpec(
        model=ModelConfig,
        out=ModelConfigOut,
        create_in=ModelConfigIn,
        patch_in=ModelConfigPatch,
        filters=ModelConfigFilters,
        select=selectors.model_config_list,
        create=services.model_config_create,
        update=lambda config, **kwargs: services.model_config_update(config=config, **kwargs),
        delete=lambda config: services.model_config_delete(config=config),
        secret_fields=ModelConfig.SECRET_FIELDS,
        read_secrets=secret_inputs,
    ),
    tags=["model configs"],
)
