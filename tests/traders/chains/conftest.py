"""A real paper round trip (entered by one cycle, exited by another) whose chain the tests read, and
known secret values placed in an exchange account, a model config and an alert channel."""

from __future__ import annotations

from typing import Any

import pytest

from apps.ai.models import ModelConfig
from apps.ai.services import model_config_create
from apps.exchanges.models import ExchangeAccount
from apps.exchanges.services import exchange_account_create
from apps.secrets.services import secret_fields_save
from apps.traders.models import Trader
from apps.traders.services.notify import alert_channel_create
from tests.audit.helpers import traded_round_trip

ACCOUNT_KEY = "chain-account-key-5150"
ACCOUNT_SECRET = "chain-account-secret-8086"
MODEL_KEY = "sk-chain-model-secret-6502"
CHANNEL_TOKEN = "chain-channel-token-68000"
SECRETS = (ACCOUNT_KEY, ACCOUNT_SECRET, MODEL_KEY, CHANNEL_TOKEN)


@pytest.fixture
def round_trip(operator, django_capture_on_commit_callbacks) -> Trader:
    def run(cycle: Any) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            cycle()

    return traded_round_trip(operator, run)


@pytest.fixture
def secrets_everywhere(db) -> None:
    """Every kind of secret TradeOps stores, with values the tests look for in what they read."""
    exchange_account_create(
        name="keyed account", exchange="binanceusdm", secrets={"api_key": ACCOUNT_KEY, "api_secret": ACCOUNT_SECRET}
    )
    # The traded account itself holds keys too (a paper account may keep them for going live).
    for account in ExchangeAccount.objects.exclude(name="keyed account"):
        secret_fields_save(instance=account, values={"api_key": ACCOUNT_KEY, "api_secret": ACCOUNT_SECRET})
    model_config_create(
        name="keyed model",
        provider=ModelConfig.Provider.OPENAI_COMPATIBLE,
        model="keyed-model",
        base_url="http://127.0.0.1:9/v1",
        secrets={"api_key": MODEL_KEY},
    )
    alert_channel_create(name="keyed channel", secrets={"url": f"json://127.0.0.1:9/{CHANNEL_TOKEN}"})
