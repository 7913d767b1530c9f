"""What-if on an AI trader's decision: the recorded inputs asked of another model config (the
scripted OpenAI-compatible server, through the real router), beside the original; no plan or order."""

from __future__ import annotations

import json
from decimal import Decimal as D

import pytest

from apps.ai.models import ModelConfig
from apps.ai.services import model_config_create
from apps.audit.models import DecisionLog
from apps.traders.models import Execution, TradePlan
from apps.traders.services.cycles import trader_cycle_run
from apps.traders.whatif import decision_what_if
from tests.exchanges.paper.helpers import release
from tests.traders.ai.conftest import EXCHANGE_KEY, EXCHANGE_SECRET, MODEL_KEY, ai_trader, answered
from tests.traders.conftest import client_for

pytestmark = pytest.mark.django_db
OTHER_KEY = "sk-other-model-secret-1234"


@pytest.fixture
def other_config(scripted) -> ModelConfig:
    return model_config_create(
        name="other",
        provider=ModelConfig.Provider.OPENAI_COMPATIBLE,
        model="other-model",
        base_url=scripted.base_url,
        timeout_seconds=5,
        max_retries=0,
        secrets={"api_key": OTHER_KEY},
    )


@pytest.fixture
def entered(operator, account, model_config, scripted, django_capture_on_commit_callbacks) -> DecisionLog:
    trader, feed = ai_trader(operator, account, model_config)
    scripted.script(answered())
    release(feed, 0)
    with django_capture_on_commit_callbacks(execute=True):
        trader_cycle_run(trader_id=trader.pk)
    return DecisionLog.objects.get()


def test_another_model_is_asked_the_same_prompt_and_its_answer_goes_through_the_gate(
    entered, other_config, scripted
) -> None:
    scripted.script(answered(action="open_short", reason="a lower high"))
    plans, orders = TradePlan.objects.count(), Execution.objects.count()

    result = decision_what_if(
        decision_id=entered.pk, risk_profile_id=entered.trader.risk_profile_id, model_config_id=other_config.pk
    )

    assert (TradePlan.objects.count(), Execution.objects.count(), DecisionLog.objects.count()) == (plans, orders, 1)
    assert result.model_config == "other"
    assert (result.original.action, result.what_if.action) == ("enter_long", "enter_short")
    assert result.what_if.reason == "a lower high"
    assert result.what_if.model["model"] == "other-model" and result.what_if.model["tokens_in"] == 100
    assert result.original.model["model"] == "scripted-model"
    # The same prompt, rebuilt from the recorded inputs: the what-if asked what the trader asked.
    assert result.what_if.model["prompt_hash"] == entered.prompt_hash
    first, second = scripted.requests
    assert first["messages"] == second["messages"]
    assert second["model"] == "other-model"
    # The model's short: stop 20,400 and target 19,200, on the gate with the trader's profile.
    assert result.what_if.request["side"] == "sell"
    assert (result.what_if.request["stop_loss"], result.what_if.request["take_profit"]) == ("20400", "19200")
    assert result.what_if.risk["decision"] in ("approved", "scaled_down")
    assert D(result.what_if.risk["quantity"]) > 0
    text = json.dumps(result.as_dict()) + json.dumps(scripted.requests) + json.dumps(scripted.headers[1:])
    assert all(secret not in text for secret in (MODEL_KEY, EXCHANGE_KEY, EXCHANGE_SECRET))


def test_a_model_that_holds_puts_nothing_to_the_gate(entered, other_config, scripted) -> None:
    scripted.script(answered(action="hold", reason="no edge"))
    result = decision_what_if(
        decision_id=entered.pk, risk_profile_id=entered.trader.risk_profile_id, model_config_id=other_config.pk
    )
    assert (result.what_if.action, result.what_if.risk) == ("hold", None)
    assert result.original.risk["decision"] in ("approved", "scaled_down")


def test_without_a_model_the_recorded_answer_is_re_run(entered, scripted) -> None:
    result = decision_what_if(decision_id=entered.pk, risk_profile_id=entered.trader.risk_profile_id)
    assert len(scripted.requests) == 1  # the cycle's question only
    assert result.what_if.model is None
    assert result.what_if.risk["decision"] == result.original.risk["decision"]
    assert D(result.what_if.risk["quantity"]) == entered.plan.quantity


def test_the_page_offers_the_model_and_shows_its_answer_beside_the_original(
    entered, other_config, scripted, operator
) -> None:
    client = client_for(operator)
    page = client.get(f"/chains/decision/{entered.pk}/").content.decode()
    assert 'name="model_config"' in page and f'<option value="{other_config.pk}">other (' in page
    scripted.script(answered(action="hold", reason="no edge"))
    partial = client.post(
        f"/chains/decision/{entered.pk}/what-if/",
        {"risk_profile": entered.trader.risk_profile_id, "model_config": other_config.pk},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "model config <strong>other</strong>" in partial
    assert "<code>other-model</code> · tokens 100 in / 50 out · model" in partial
    assert "<code>scripted-model</code>" in partial and "no edge" in partial
    assert all(secret not in partial for secret in (MODEL_KEY, OTHER_KEY, EXCHANGE_KEY, EXCHANGE_SECRET))
