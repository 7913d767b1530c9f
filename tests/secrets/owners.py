"""Every model that holds a secret, found from the schema, and how a test makes a row of it.

A model that gains a OneToOneField to Secret is picked up by `secret_owner_fields`; the leak
tests then fail until it has an OwnerCase here, so no secret-holding model goes unchecked.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db.models import Model, OneToOneField
from ninja import Schema

from apps.ai.api import ModelConfigIn
from apps.ai.models import ModelConfig
from apps.ai.services import model_config_create
from apps.exchanges.api import ExchangeAccountIn
from apps.exchanges.models import ExchangeAccount
from apps.exchanges.services import exchange_account_create
from apps.news.api import NewsSourceIn
from apps.news.models import NewsSource
from apps.news.services import news_source_create
from apps.secrets.models import Secret
from apps.traders.alert_api import AlertChannelIn
from apps.traders.models import AlertChannel
from apps.traders.services.notify import alert_channel_create


def secret_owner_fields() -> dict[type[Model], tuple[str, ...]]:
    found: dict[type[Model], tuple[str, ...]] = {}
    for model in apps.get_models():
        fields = tuple(
            field.name
            for field in model._meta.concrete_fields
            if isinstance(field, OneToOneField) and field.remote_field.model is Secret
        )
        if fields:
            found[model] = fields
    return found


def secret_owner_pairs() -> list[tuple[type[Model], str]]:
    return [(model, field) for model, fields in secret_owner_fields().items() for field in fields]


def pair_id(pair: tuple[type[Model], str]) -> str:
    model, field = pair
    return f"{model._meta.label}.{field}"


def clear_value() -> str:
    """Distinctive, long, and made of characters no HTML or JSON encoder changes."""
    return f"clear-{secrets.token_hex(20)}"


@dataclass(frozen=True)
class OwnerCase:
    create: Callable[..., Model]
    """The model's create service: create(name=..., secrets={...})."""
    api_payload: Callable[[str], dict[str, Any]]
    """A valid API create payload (plain fields only) for a row called `name`."""
    invalid: dict[str, Any]
    """One plain field with a value the API schema and the admin form reject."""
    create_in: type[Schema]
    """The API's create schema, to show what pydantic itself would echo back."""
    value: Callable[[], str] = lambda: clear_value()
    """A fresh valid value of the model's secrets (most take any text; a channel's URL must be one)."""


OWNER_CASES: dict[type[Model], OwnerCase] = {
    ExchangeAccount: OwnerCase(
        create=lambda **kwargs: exchange_account_create(exchange="binanceusdm", mode="testnet", **kwargs),
        api_payload=lambda name: {"name": name, "exchange": "binanceusdm", "mode": "testnet"},
        invalid={"exchange": "no-such-exchange"},
        create_in=ExchangeAccountIn,
    ),
    ModelConfig: OwnerCase(
        create=lambda **kwargs: model_config_create(provider="openai", model="gpt-4o-mini", **kwargs),
        api_payload=lambda name: {"name": name, "provider": "openai", "model": "gpt-4o-mini"},
        invalid={"provider": "no-such-provider"},
        create_in=ModelConfigIn,
    ),
    # X sources exist only with NEWS_X_ENABLED, which tests/secrets/conftest.py turns on.
    NewsSource: OwnerCase(
        create=lambda **kwargs: news_source_create(kind="x_recent_search", query="(bitcoin OR BTC) lang:en", **kwargs),
        api_payload=lambda name: {"name": name, "kind": "x_recent_search", "query": "ether lang:en -is:retweet"},
        invalid={"kind": "no-such-kind"},
        create_in=NewsSourceIn,
    ),
    # Nothing listens on the discard port: a URL apprise accepts, for a receiver that never answers.
    AlertChannel: OwnerCase(
        create=alert_channel_create,
        api_payload=lambda name: {"name": name, "min_level": "critical"},
        invalid={"min_level": "no-such-level"},
        create_in=AlertChannelIn,
        value=lambda: f"json://127.0.0.1:9/{clear_value()}",
    ),
}


@dataclass(frozen=True)
class Owned:
    row: Model
    field: str
    value: str
    """The clear value of `field`; every other secret field holds its own random value."""

    @property
    def secret(self) -> Secret:
        return getattr(self.row, self.field)

    @property
    def ciphertext(self) -> str:
        return self.secret.ciphertext


def owner_create(model: type[Model], field: str) -> Owned:
    """A row whose every secret field is set through the model's service, `field` to a fresh value."""
    values = {name: OWNER_CASES[model].value() for name in secret_owner_fields()[model]}
    row = OWNER_CASES[model].create(name=f"owner-{secrets.token_hex(4)}", secrets=values)
    return Owned(row=row, field=field, value=values[field])
