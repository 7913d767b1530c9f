from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.db import transaction

from apps.ai.models import ModelConfig
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
)
# Hosted providers authenticate every call; local llama.cpp and self-hosted endpoints may not.
PROVIDERS_NEEDING_KEY = (ModelConfig.Provider.OPENAI, ModelConfig.Provider.ANTHROPIC, ModelConfig.Provider.GOOGLE)


def model_config_validate(config: ModelConfig, secrets: Mapping[str, SecretInput]) -> None:
    if config.provider == ModelConfig.Provider.OPENAI_COMPATIBLE and not config.base_url:
        raise ServiceValidationError("base_url", "OpenAI-compatible endpoints need a base URL")
    if config.provider == ModelConfig.Provider.LLAMA_CPP and config.base_url:
        raise ServiceValidationError("base_url", "local llama.cpp models run in-process; leave the base URL empty")
    if config.provider in PROVIDERS_NEEDING_KEY and not secret_will_be_set(
        instance=config, field="api_key", value=secrets.get("api_key", UNCHANGED)
    ):
        raise ServiceValidationError("api_key", f"{config.get_provider_display()} needs an API key")
    if ModelConfig.objects.filter(name=config.name).exclude(pk=config.pk).exists():
        raise ServiceValidationError("name", f"a model config named {config.name!r} already exists")


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
