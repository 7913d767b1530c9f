"""ai_decide over real HTTP: the openai SDK talks to a scripted server on 127.0.0.1 through the router."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from apps.ai.contract import PlanAction
from apps.ai.decide import Prompt, ai_decide
from apps.ai.models import ModelCall
from tests.ai.conftest import BOUNDS
from tests.ai.scripted_server import answer

pytestmark = pytest.mark.django_db
PROMPT = Prompt(system="You are a careful trader.", user="BTC/USDT last close 50000. Decide.")


def plan(**changes) -> str:
    fields = {
        "action": "open_long",
        "symbol": "BTC/USDT",
        "size": 0.1,
        "leverage": 2,
        "stop_loss": 49000,
        "take_profit": 52000,
        "confidence": 0.7,
        "reason": "Breakout above the range with rising volume.",
        "evidence": [{"source": "indicator", "value": "RSI 61", "observation": "momentum, not overbought"}],
    }
    return json.dumps(fields | changes)


def test_a_valid_answer_is_the_plan_with_its_usage(scripted, remote_config, router) -> None:
    scripted.script(answer(plan(), tokens_in=1000, tokens_out=200))

    decision = ai_decide(config=remote_config, prompt=PROMPT, bounds=BOUNDS, caller="trader:7", router=router)

    assert decision.plan is not None and decision.plan.action == PlanAction.OPEN_LONG
    assert decision.no_trade_reason == ""
    # 1000 * 2 / 1e6 + 200 * 8 / 1e6 (the config's prices per million tokens)
    assert decision.cost == Decimal("0.003600")
    assert (decision.tokens_in, decision.tokens_out, decision.attempts) == (1000, 200, 1)
    sent = scripted.requests[0]
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["strict"] is True
    assert sent["response_format"]["json_schema"]["schema"]["properties"]["symbol"]["enum"] == ["BTC/USDT", "ETH/USDT"]
    call = ModelCall.objects.get()
    assert (call.caller, call.outcome, call.cost) == ("trader:7", "ok", Decimal("0.003600"))


def test_an_invalid_answer_gets_one_repair_request_quoting_the_error(scripted, remote_config, router) -> None:
    scripted.script(answer(plan(stop_loss=51000)), answer(plan()))

    decision = ai_decide(config=remote_config, prompt=PROMPT, bounds=BOUNDS, router=router)

    assert decision.plan is not None
    assert decision.attempts == 2
    repair = scripted.requests[1]["messages"]
    assert repair[-2] == {"role": "assistant", "content": plan(stop_loss=51000)}
    assert "stop_loss 51000.0 must be below the price 50000 for a long" in repair[-1]["content"]
    assert list(ModelCall.objects.order_by("pk").values_list("outcome", flat=True)) == ["invalid", "ok"]


def test_a_second_invalid_answer_is_no_trade_with_its_reason(scripted, remote_config, router) -> None:
    huge = "x" * 5000
    scripted.script(answer(plan(symbol="DOGE/USDT")), answer("Sure! " + plan() + huge))

    decision = ai_decide(config=remote_config, prompt=PROMPT, bounds=BOUNDS, router=router)

    assert decision.plan is None
    assert decision.no_trade_reason.startswith("invalid answer twice: ")
    assert "Invalid JSON" in decision.no_trade_reason
    assert decision.invalid_raw == ("Sure! " + plan() + huge).encode()[:2048].decode()
    assert len(scripted.requests) == 2


def test_the_response_cache_answers_the_second_run_identically_and_free(scripted, remote_config, router) -> None:
    scripted.script(answer(plan()))

    first = ai_decide(config=remote_config, prompt=PROMPT, bounds=BOUNDS, router=router, use_cache=True)
    second = ai_decide(config=remote_config, prompt=PROMPT, bounds=BOUNDS, router=router, use_cache=True)

    assert len(scripted.requests) == 1
    assert second.cached and not first.cached
    assert second.plan == first.plan
    assert (second.cost, second.tokens_in, second.prompt_hash) == (Decimal("0"), 0, first.prompt_hash)
