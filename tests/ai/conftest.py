from __future__ import annotations

from decimal import Decimal

import pytest

from apps.ai.contract import PlanBounds
from apps.ai.models import ModelConfig
from apps.ai.router import ModelRouter, RetryPolicy
from apps.ai.services import model_config_create
from tests.ai.scripted_server import _scripted_server, scripted  # noqa: F401 (fixtures)

BOUNDS = PlanBounds(
    symbols=("BTC/USDT", "ETH/USDT"), prices={"BTC/USDT": Decimal("50000"), "ETH/USDT": Decimal("3000")}, max_leverage=5
)


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def router(sleeps: Sleeps) -> ModelRouter:
    """A fresh router (no cached clients) whose backoff sleeps are recorded, not slept."""
    return ModelRouter(policy=RetryPolicy(), sleep=sleeps)


@pytest.fixture
def remote_config(db, scripted) -> ModelConfig:  # noqa: F811
    return model_config_create(
        name="scripted",
        provider=ModelConfig.Provider.OPENAI_COMPATIBLE,
        model="scripted-model",
        base_url=scripted.base_url,
        timeout_seconds=5,
        max_retries=2,
        input_price_per_million=Decimal("2"),
        output_price_per_million=Decimal("8"),
        secrets={"api_key": "sk-scripted-secret-123"},
    )
