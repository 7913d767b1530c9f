from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.db import transaction

from apps.ai.models import PACKAGED_LOCAL_MODEL, CachedAnswer, ModelCall, ModelConfig
from apps.core.errors import ServiceValidationError
from apps.secrets.services import (
    UNCHANGED,
    SecretInput,
    secret_fields_delete,
    secret_fields_save,
    secret_will_be_set,
)

EDITABLE_FIELDS = (
    "name",
    "provider",
    "model",
    "base_url",
    "temperature",
    "max_tokens",
    "timeout_seconds",
    "daily_token_budget",
    "daily_cost_budget",
    "input_price_per_million",
    "output_price_per_million",
    "max_retries",
    "fallback_id",
    "output_mode",
)
# Hosted providers authenticate every call; local llama.cpp and self-hosted endpoints may not.
PROVIDERS_NEEDING_KEY = (ModelConfig.Provider.OPENAI, ModelConfig.Provider.ANTHROPIC, ModelConfig.Provider.GOOGLE)


def model_config_validate(config: ModelConfig, secrets: Mapping[str, SecretInput]) -> None:
    if config.provider == ModelConfig.Provider.OPENAI_COMPATIBLE and not config.base_url:
        raise ServiceValidationError("base_url", "OpenAI-compatible endpoints need a base URL")
    if config.provider == ModelConfig.Provider.LLAMA_CPP and config.base_url:
        raise ServiceValidationError("base_url", "local llama.cpp models run in-process; leave the base URL empty")
    if config.provider == ModelConfig.Provider.LLAMA_CPP and config.output_mode:
        raise ServiceValidationError("output_mode", "local llama.cpp models always use a grammar; leave it empty")
    if config.provider in PROVIDERS_NEEDING_KEY and not secret_will_be_set(
        instance=config, field="api_key", value=secrets.get("api_key", UNCHANGED)
    ):
        raise ServiceValidationError("api_key", f"{config.get_provider_display()} needs an API key")
    if config.provider == ModelConfig.Provider.LLAMA_CPP and not (
        config.model == PACKAGED_LOCAL_MODEL or config.model.endswith(".gguf")
    ):
        raise ServiceValidationError(
            "model", f"a local model is a .gguf file path, or {PACKAGED_LOCAL_MODEL!r} for the packaged SmolLM2-135M"
        )
    if ModelConfig.objects.filter(name=config.name).exclude(pk=config.pk).exists():
        raise ServiceValidationError("name", f"a model config named {config.name!r} already exists")
    _validate_fallback(config)


def _validate_fallback(config: ModelConfig) -> None:
    """A fallback chain ends: it never comes back to the config itself."""
    if config.fallback_id is not None and not ModelConfig.objects.filter(pk=config.fallback_id).exists():
        raise ServiceValidationError("fallback_id", f"no model config with id {config.fallback_id}")
    fallback = config.fallback
    seen = {config.pk}
    while fallback is not None:
        if fallback.pk in seen:
            raise ServiceValidationError("fallback", f"{fallback.name!r} leads back to {config.name!r}: no loops")
        seen.add(fallback.pk)
        fallback = fallback.fallback


@transaction.atomic
def model_config_create(
    *,
    name: str,
    provider: str,
    model: str,
    base_url: str = "",
    temperature: Decimal = Decimal("0.20"),
    max_tokens: int = 1024,
    timeout_seconds: int = 60,
    daily_token_budget: int = 200_000,
    daily_cost_budget: Decimal = Decimal("0"),
    input_price_per_million: Decimal = Decimal("0"),
    output_price_per_million: Decimal = Decimal("0"),
    max_retries: int = 2,
    fallback_id: int | None = None,
    output_mode: str = "",
    secrets: Mapping[str, SecretInput] | None = None,
) -> ModelConfig:
    config = ModelConfig(
        name=name,
        provider=provider,
        model=model,
        base_url=base_url,
        temperature=temperature,
        max_tokens=max_tokens,
        timeout_seconds=timeout_seconds,
        daily_token_budget=daily_token_budget,
        daily_cost_budget=daily_cost_budget,
        input_price_per_million=input_price_per_million,
        output_price_per_million=output_price_per_million,
        max_retries=max_retries,
        fallback_id=fallback_id,
        output_mode=output_mode,
    )
    secrets = dict(secrets or {})
    model_config_validate(config, secrets)
    return secret_fields_save(instance=config, values=secrets)


@transaction.atomic
def model_config_update(
    *, config: ModelConfig, changes: Mapping[str, Any], secrets: Mapping[str, SecretInput] | None = None
) -> ModelConfig:
    config = ModelConfig.objects.select_for_update().get(pk=config.pk)
    for field, value in changes.items():
        if field not in EDITABLE_FIELDS:
            raise ServiceValidationError(field, "is not an editable field")
        setattr(config, field, value)
    secrets = dict(secrets or {})
    model_config_validate(config, secrets)
    return secret_fields_save(instance=config, values=secrets)


@transaction.atomic
def model_config_delete(*, config: ModelConfig) -> None:
    secret_fields_delete(instance=config, fields=ModelConfig.SECRET_FIELDS)


def model_call_record(
    *,
    config: ModelConfig,
    caller: str,
    outcome: str,
    tokens_in: int = 0,
    tokens_out: int = 0,
    cost: Decimal = Decimal("0"),
    latency_ms: int = 0,
    attempts: int = 1,
    error: str = "",
) -> ModelCall:
    return ModelCall.objects.create(
        model_config=config,
        model=config.model[:300],
        caller=caller[:100],
        outcome=outcome,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        cost=cost,
        latency_ms=latency_ms,
        attempts=attempts,
        error=error[:300],
    )


def model_call_mark_invalid(*, call: ModelCall, error: str) -> None:
    """The call was answered, but the answer failed validation (its tokens still count)."""
    call.outcome = ModelCall.Outcome.INVALID
    call.error = error[:300]
    call.save(update_fields=["outcome", "error"])


def cached_answer_store(
    *, key: str, model: str, plan: dict | None, no_trade_reason: str, invalid_raw: str, tokens_in: int, tokens_out: int
) -> None:
    CachedAnswer.objects.update_or_create(
        key=key,
        defaults={
            "model": model[:300],
            "plan": plan,
            "no_trade_reason": no_trade_reason[:500],
            "invalid_raw": invalid_raw,
            "tokens_in": tokens_in,
            "tokens_out": tokens_out,
        },
    )
