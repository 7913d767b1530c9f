"""The AI fields of a trader through the API: a model config is required in ai mode (422 naming the
field, and a database constraint behind it), and each change is in the trader's history."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from apps.ai.models import ModelConfig
from apps.traders.models import Trader
from tests.traders.conftest import client_for
from tests.traders.test_trader_api import error_fields, new_trader_body, post

pytestmark = pytest.mark.django_db


@pytest.fixture
def local_model(db) -> ModelConfig:
    return ModelConfig.objects.create(name="local", provider="llama_cpp", model="smollm2-135m")


def test_an_ai_trader_needs_a_model_config(admin_user) -> None:
    response = post(client_for(admin_user), "/api/v1/traders", new_trader_body(decision_mode="ai"))

    assert response.status_code == 422 and error_fields(response) == ["ai_model_config"]
    assert "needs a model config" in response.content.decode()
    assert not Trader.objects.exists()


def test_the_database_refuses_an_ai_trader_without_a_model(admin_user) -> None:
    post(client_for(admin_user), "/api/v1/traders", new_trader_body())
    with pytest.raises(IntegrityError), transaction.atomic():
        Trader.objects.update(decision_mode="ai")


def test_ai_fields_are_saved_read_back_and_recorded_in_the_history(admin_user, local_model) -> None:
    client = client_for(admin_user)
    body = new_trader_body(decision_mode="ai", ai_model_config=local_model.pk, ai_ask="cycle")
    created = post(client, "/api/v1/traders", body)
    assert created.status_code == 201, created.content
    trader_id = created.json()["id"]

    patched = client.patch(
        f"/api/v1/traders/{trader_id}",
        {"ai_daily_token_budget": 5000, "ai_daily_cost_budget": "0.25"},
        content_type="application/json",
    )

    assert patched.status_code == 200, patched.content
    out = patched.json()
    assert (out["decision_mode"], out["ai_model_config"], out["ai_ask"]) == ("ai", local_model.pk, "cycle")
    assert (out["ai_daily_token_budget"], out["ai_daily_cost_budget"], out["prompt_template"]) == (5000, "0.25", None)
    history = Trader.objects.get().history.order_by("history_date")
    first, last = history.first(), history.last()
    assert (first.ai_daily_token_budget, first.ai_model_config_id) == (None, local_model.pk)
    assert (last.ai_daily_token_budget, last.history_user, last.prev_record.ai_daily_token_budget) == (
        5000,
        admin_user,
        None,
    )
