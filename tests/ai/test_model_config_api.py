"""Model config CRUD through /api/v1: provider rules and write-only API keys."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.ai.models import ModelConfig

pytestmark = pytest.mark.django_db
URL = "/api/v1/model-configs"


@pytest.fixture
def api(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def create(api: Client, **fields):
    payload = {"name": "planner", "provider": "openai", "model": "gpt-4o-mini", "api_key": "sk-test-value-1", **fields}
    return api.post(URL, payload, content_type="application/json")


def test_create_shows_key_status_not_value(api) -> None:
    response = create(api)
    assert response.status_code == 201
    body = response.json()
    assert body["api_key"]["is_set"] is True
    assert "sk-test-value-1" not in response.content.decode()
    assert body["temperature"] == "0.20"


@pytest.mark.parametrize(
    ("fields", "bad_field"),
    [
        ({"api_key": None}, "api_key"),
        ({"provider": "openai_compatible", "api_key": None}, "base_url"),
        ({"provider": "llama_cpp", "base_url": "http://127.0.0.1:8080"}, "base_url"),
        ({"provider": "mistral"}, "provider"),
        ({"temperature": "2.5"}, "temperature"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"timeout_seconds": 601}, "timeout_seconds"),
        ({"base_url": "ftp://example"}, "base_url"),
    ],
)
def test_bad_configs_get_422_naming_the_field(api, fields: dict, bad_field: str) -> None:
    response = create(api, **fields)
    assert response.status_code == 422
    assert bad_field in [error["loc"][-1] for error in response.json()["detail"]]
    assert not ModelConfig.objects.exists()


def test_local_models_need_no_key(api) -> None:
    response = create(api, provider="llama_cpp", model="/models/tiny.gguf", api_key=None)
    assert response.status_code == 201
    compatible = create(
        api, name="lan", provider="openai_compatible", base_url="http://127.0.0.1:8080/v1", api_key=None
    )
    assert compatible.status_code == 201


def test_update_and_delete(api, admin_user) -> None:
    body = create(api).json()
    updated = api.patch(f"{URL}/{body['id']}", {"max_tokens": 2048}, content_type="application/json").json()
    assert updated["max_tokens"] == 2048
    assert ModelConfig.objects.get().history.first().history_user == admin_user
    assert api.delete(f"{URL}/{body['id']}").status_code == 204
    assert not ModelConfig.objects.exists()


def test_provider_filter(api) -> None:
    create(api)
    create(api, name="local", provider="llama_cpp", model="/models/tiny.gguf", api_key=None)
    rows = api.get(URL, {"provider": "llama_cpp"}).json()["items"]
    assert [row["name"] for row in rows] == ["local"]
