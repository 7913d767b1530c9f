"""Retries, fallback and no-trade rules over real HTTP (a scripted server on 127.0.0.1), and what test
connection says for each failure, never the key."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from apps.ai.decide import Prompt, ai_decide
from apps.ai.models import ModelCall, ModelConfig
from apps.ai.probe import model_config_test
from apps.ai.services import model_config_create, model_config_update
from tests.ai.conftest import BOUNDS
from tests.ai.scripted_server import Reply, answer, error
from tests.ai.test_decide import plan

pytestmark = pytest.mark.django_db
PROMPT = Prompt(system="system", user="user")


def decide(config, router):
    return ai_decide(config=config, prompt=PROMPT, bounds=BOUNDS, caller="trader:1", router=router)


def test_429_is_retried_after_its_retry_after_then_answers(scripted, remote_config, router, sleeps) -> None:
    scripted.script(error(429, "slow down", **{"retry-after": "3"}), answer(plan()))

    decision = decide(remote_config, router)

    assert decision.plan is not None
    assert sleeps == [3.0]
    assert decision.attempts == 2
    call = ModelCall.objects.get()
    assert (call.outcome, call.attempts) == ("ok", 2)


def test_a_long_retry_after_is_capped(scripted, remote_config, router, sleeps) -> None:
    scripted.script(error(429, **{"retry-after": "3600"}), answer(plan()))

    decide(remote_config, router)

    assert sleeps == [router.policy.max_retry_after]


def test_500s_back_off_exponentially_then_give_no_trade(scripted, remote_config, router, sleeps) -> None:
    scripted.script(error(500), error(502), error(503))

    decision = decide(remote_config, router)

    assert decision.plan is None
    assert "provider error (HTTP 503)" in decision.no_trade_reason
    assert "after 3 attempts" in decision.no_trade_reason
    assert sleeps == [0.5, 1.0]  # max_retries=2: two repeats, the backoff doubling
    assert not decision.budget_exhausted
    assert list(ModelCall.objects.values_list("outcome", flat=True)) == ["server_error"]


def test_a_refused_request_is_not_retried(scripted, remote_config, router, sleeps) -> None:
    scripted.script(error(400, "response_format is not supported"))

    decision = decide(remote_config, router)

    assert decision.plan is None
    assert "request refused (HTTP 400): response_format is not supported" in decision.no_trade_reason
    assert sleeps == [] and len(scripted.requests) == 1


def test_a_timeout_is_retried_then_no_trade(scripted, remote_config, router) -> None:
    model_config_update(config=remote_config, changes={"timeout_seconds": 1, "max_retries": 1})
    remote_config.refresh_from_db()
    scripted.script(Reply(delay=1.5, body={}), Reply(delay=1.5, body={}))

    decision = decide(remote_config, router)

    assert decision.plan is None
    assert "did not answer within the timeout (after 2 attempts)" in decision.no_trade_reason
    assert ModelCall.objects.get().outcome == "timeout"


def test_the_fallback_answers_when_the_first_fails(scripted, remote_config, router) -> None:
    fallback = model_config_create(
        name="backup", provider="openai_compatible", model="backup-model", base_url=scripted.base_url, max_retries=0
    )
    model_config_update(config=remote_config, changes={"fallback_id": fallback.pk, "max_retries": 0})
    remote_config.refresh_from_db()
    scripted.script(error(503), answer(plan()))

    decision = decide(remote_config, router)

    assert decision.plan is not None
    assert (decision.model_config_id, decision.model) == (fallback.pk, "backup-model")
    assert [request["model"] for request in scripted.requests] == ["scripted-model", "backup-model"]
    outcomes = ModelCall.objects.order_by("pk").values_list("model_config__name", "outcome")
    assert list(outcomes) == [("scripted", "server_error"), ("backup", "ok")]


def test_a_fallback_loop_is_refused(remote_config) -> None:
    other = model_config_create(name="other", provider="llama_cpp", model="smollm2-135m", fallback_id=remote_config.pk)
    with pytest.raises(Exception, match="leads back"):
        model_config_update(config=remote_config, changes={"fallback_id": other.pk})
    with pytest.raises(Exception, match="no model config with id"):
        model_config_update(config=remote_config, changes={"fallback_id": 999_999})


def test_unreachable_is_no_trade_not_a_crash(db, router, sleeps) -> None:
    config = model_config_create(
        name="gone", provider="openai_compatible", model="m", base_url="http://127.0.0.1:9/v1", max_retries=1
    )

    decision = decide(config, router)

    assert decision.plan is None
    assert "could not connect to the provider (unreachable)" in decision.no_trade_reason
    assert len(sleeps) == 1


@pytest.mark.parametrize(
    ("reply", "outcome", "message"),
    [
        (error(401, "Incorrect API key provided: sk-scripted-secret-123"), "auth", "refused the API key (HTTP 401)"),
        (error(404, "The model `scripted-model` does not exist"), "not_found", "unknown model or wrong base URL"),
    ],
)
def test_test_connection_names_the_failure_and_never_echoes_the_key(
    scripted, remote_config, router, reply, outcome, message
) -> None:
    scripted.script(reply)

    result = model_config_test(config=remote_config, router=router)

    assert not result.ok and result.outcome == outcome
    assert message in result.error
    assert "sk-scripted-secret-123" not in result.error
    # The key did travel, as the bearer token, to the provider (and only there).
    assert scripted.headers[0]["authorization"] == "Bearer sk-scripted-secret-123"


def test_test_connection_shows_latency_and_the_answer(scripted, remote_config, router) -> None:
    scripted.script(answer('{"status": "ok"}', tokens_in=30, tokens_out=5))

    result = model_config_test(config=remote_config, router=router)

    assert (result.ok, result.schema_valid, result.answer) == (True, True, '{"status": "ok"}')
    assert result.latency_ms >= 0
    sent = scripted.requests[0]
    assert sent["max_tokens"] == 16
    assert sent["response_format"]["json_schema"]["schema"]["required"] == ["status"]
    assert ModelCall.objects.get().caller == "test-connection"


def test_test_connection_api_is_for_admins_and_hides_the_key(scripted, remote_config, admin_user, operator) -> None:
    scripted.script(error(401, "Incorrect API key provided: sk-scripted-secret-123"))
    url = f"/api/v1/model-configs/{remote_config.pk}/test"
    client = Client()
    client.force_login(operator)
    assert client.post(url).status_code == 403

    client.force_login(admin_user)
    response = client.post(url)

    assert response.status_code == 200
    body = response.json()
    assert (body["ok"], body["outcome"]) == (False, "auth")
    assert "sk-scripted-secret-123" not in response.content.decode()
    assert client.post("/api/v1/model-configs/999999/test").status_code == 404


def test_prices_make_the_cost(scripted, remote_config, router) -> None:
    scripted.script(answer(plan(), tokens_in=2_000_000, tokens_out=500_000))

    decision = decide(remote_config, router)

    # 2M in at 2 per million + 0.5M out at 8 per million.
    assert decision.cost == Decimal("8.000000")


def test_anthropic_is_asked_in_json_mode_with_the_schema_in_the_prompt(scripted, db, router) -> None:
    config = model_config_create(
        name="claude",
        provider=ModelConfig.Provider.ANTHROPIC,
        model="claude-x",
        base_url=scripted.base_url,
        secrets={"api_key": "sk-ant-scripted-1"},
    )
    scripted.script(answer(plan()))

    assert decide(config, router).plan is not None
    sent = scripted.requests[0]
    assert sent["response_format"] == {"type": "json_object"}
    assert '"reason"' in sent["messages"][-1]["content"]


def test_the_key_is_in_no_log_line_and_no_repr(scripted, remote_config, router, caplog) -> None:
    scripted.script(error(401, "Incorrect API key provided: sk-scripted-secret-123"), answer(plan()))
    caplog.set_level("DEBUG")

    refused = decide(remote_config, router)
    client = router.client(remote_config)

    assert "sk-scripted-secret-123" not in refused.no_trade_reason
    assert "sk-scripted-secret-123" not in caplog.text
    assert "sk-scripted-secret-123" not in repr(client) and "sk-scripted-secret-123" not in repr(refused)
