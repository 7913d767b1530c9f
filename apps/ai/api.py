from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Schema
from pydantic import SecretStr

from apps.ai import selectors, services
from apps.ai.contract import trade_plan_json_schema
from apps.ai.models import MAX_RETRIES, MAX_TIMEOUT_SECONDS, MAX_TOKENS_LIMIT, ModelConfig
from apps.ai.probe import ProbeResult, model_config_test
from apps.core.auth import ADMIN
from apps.core.crud import CrudSpec, crud_router
from apps.core.schemas import MAX_DB_INT, ErrorOut, InputSchema, RowId
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
    daily_cost_budget: Decimal
    input_price_per_million: Decimal
    output_price_per_million: Decimal
    max_retries: int
    fallback_id: int | None
    output_mode: ModelConfig.OutputMode
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
    daily_token_budget: int = Field(200_000, ge=0, le=MAX_DB_INT, description="Tokens a UTC day; 0: no limit.")
    daily_cost_budget: Decimal = Field(Decimal("0"), ge=0, max_digits=12, decimal_places=4, description="0: no limit.")
    input_price_per_million: Decimal = Field(Decimal("0"), ge=0, max_digits=12, decimal_places=4)
    output_price_per_million: Decimal = Field(Decimal("0"), ge=0, max_digits=12, decimal_places=4)
    max_retries: int = Field(2, ge=0, le=MAX_RETRIES)
    fallback_id: int | None = Field(
        None, ge=1, le=MAX_DB_INT, description="The model config asked when this one fails."
    )


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
    daily_cost_budget: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=4)
    input_price_per_million: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=4)
    output_price_per_million: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=4)
    max_retries: int | None = Field(None, ge=0, le=MAX_RETRIES)
    fallback_id: int | None = Field(None, ge=1, le=MAX_DB_INT, description="null removes the fallback.")
    output_mode: ModelConfig.OutputMode | None = None


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


class ProbeOut(Schema):
    ok: bool = Field(description="The model answered.")
    schema_valid: bool = Field(description='Its answer is the JSON the probe schema asks for ({"status": "ok"}).')
    latency_ms: int
    answer: str = Field(description="The model's answer, shortened to 200 characters; empty when it failed.")
    error: str = Field(description="What went wrong (wrong key, unknown model, unreachable, timeout); never the key.")
    outcome: str = Field(description="ok, auth, not_found, unreachable, timeout, rate_limited, server_error, ...")


class UsageDayOut(Schema):
    day: date
    calls: int
    failures: int
    tokens_in: int
    tokens_out: int
    cost: Decimal
    p95_latency_ms: int | None


class UsageOut(Schema):
    today_tokens: int
    today_cost: Decimal
    today_calls: int
    daily_token_budget: int
    daily_cost_budget: Decimal
    days: list[UsageDayOut]


@router.get("/schema/trade-plan", response=dict[str, Any], url_name="trade_plan_schema")
def trade_plan_schema(request: HttpRequest) -> dict[str, Any]:
    """The strict JSON Schema every model's trade plan must match (the symbol enum is set per trader)."""
    return trade_plan_json_schema()


@router.post("/{row_id}/test", response={200: ProbeOut, 404: ErrorOut}, auth=ADMIN, url_name="modelconfig_test")
def test_connection(request: HttpRequest, row_id: RowId) -> ProbeResult:
    """One tiny schema-constrained request (no retries, no fallback): latency and the answer, or a clear error."""
    return model_config_test(config=get_object_or_404(selectors.model_config_list(), pk=row_id))


@router.get("/{row_id}/usage", response={200: UsageOut, 404: ErrorOut}, url_name="modelconfig_usage")
def usage(request: HttpRequest, row_id: RowId, days: int = Query(30, ge=1, le=366)) -> UsageOut:
    """Calls, failures, tokens, cost and p95 latency per UTC day (newest first), and today's use of the budgets."""
    config = get_object_or_404(ModelConfig, pk=row_id)
    today = selectors.ai_usage_today(model_config_id=config.pk)
    return UsageOut(
        today_tokens=today.tokens,
        today_cost=today.cost,
        today_calls=today.calls,
        daily_token_budget=config.daily_token_budget,
        daily_cost_budget=config.daily_cost_budget,
        days=[UsageDayOut(**vars(day)) for day in selectors.model_usage_days(model_config_id=config.pk, days=days)],
    )
