"""Exchange account CRUD through /api/v1: write-only keys, business rules, filters, history."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.exchanges.models import ExchangeAccount
from apps.secrets.models import Secret

pytestmark = pytest.mark.django_db
URL = "/api/v1/exchange-accounts"


@pytest.fixture
def api(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def create(api: Client, **fields):
    payload = {"name": "Binance main", "exchange": "binanceusdm", **fields}
    return api.post(URL, payload, content_type="application/json")


def patch(api: Client, account_id: int, **fields):
    return api.patch(f"{URL}/{account_id}", fields, content_type="application/json")


def error_fields(response) -> list[str]:
    return [error["loc"][-1] for error in response.json()["detail"]]


def test_create_paper_account_with_defaults(api) -> None:
    response = create(api)
    assert response.status_code == 201
    body = response.json()
    assert body["mode"] == "paper"
    assert body["default_leverage"] == 1
    assert body["margin_mode"] == "isolated"
    assert body["api_key"] == {"is_set": False, "fingerprint": None, "updated_at": None}


def test_keys_show_as_set_with_fingerprint_only(api) -> None:
    body = create(api, mode="testnet", api_key="AKIA-key-value-123", api_secret="very-secret-value-456").json()
    assert body["api_key"]["is_set"] and body["api_secret"]["is_set"]
    assert len(body["api_key"]["fingerprint"]) == 8
    assert body["passphrase"]["is_set"] is False
    assert "AKIA-key-value-123" not in str(body)


def test_patch_keeps_omitted_keys_replaces_sent_ones_and_removes_null(api) -> None:
    body = create(api, api_key="first-key-value", api_secret="first-secret-value", passphrase="pass-value").json()
    kept = patch(api, body["id"], name="Renamed").json()
    assert kept["api_key"]["fingerprint"] == body["api_key"]["fingerprint"]

    replaced = patch(api, body["id"], api_key="second-key-value").json()
    assert replaced["api_key"]["fingerprint"] != body["api_key"]["fingerprint"]
    assert replaced["api_secret"]["fingerprint"] == body["api_secret"]["fingerprint"]

    removed = patch(api, body["id"], passphrase=None).json()
    assert removed["passphrase"]["is_set"] is False
    assert Secret.objects.count() == 2


def test_live_account_needs_keys_and_nothing_is_stored(api) -> None:
    response = create(api, mode="live", api_key="only-a-key-value")
    assert response.status_code == 422
    assert error_fields(response) == ["api_secret"]
    assert not ExchangeAccount.objects.exists()
    assert not Secret.objects.exists()


def test_removing_keys_of_a_live_account_is_refused(api) -> None:
    body = create(api, mode="live", api_key="live-key-value", api_secret="live-secret-value").json()
    response = patch(api, body["id"], api_secret=None)
    assert response.status_code == 422
    assert ExchangeAccount.objects.get().api_secret is not None


def test_unknown_exchange_is_rejected_naming_the_allowed_values(api) -> None:
    response = create(api, exchange="kraken")
    assert response.status_code == 422
    message = response.json()["detail"][0]["msg"]
    for allowed in ("binanceusdm", "gate", "binance"):
        assert allowed in message


@pytest.mark.parametrize(
    ("fields", "bad_field"),
    [
        ({"exchange": "binance", "default_leverage": 5}, "default_leverage"),
        ({"default_leverage": 126}, "default_leverage"),
        ({"paper_starting_balance": "-1"}, "paper_starting_balance"),
        ({"mode": "yolo"}, "mode"),
        ({"name": ""}, "name"),
        ({"api_key": "line\nbreak-value"}, "api_key"),
    ],
)
def test_bad_fields_get_422_naming_the_field(api, fields: dict, bad_field: str) -> None:
    response = create(api, **fields)
    assert response.status_code == 422
    assert bad_field in error_fields(response)
    assert not ExchangeAccount.objects.exists()


def test_duplicate_name_is_rejected(api) -> None:
    create(api)
    response = create(api, exchange="gate")
    assert response.status_code == 422
    assert error_fields(response) == ["name"]


def test_null_for_a_plain_field_is_rejected_and_row_unchanged(api) -> None:
    body = create(api).json()
    response = patch(api, body["id"], name=None)
    assert response.status_code == 422
    assert ExchangeAccount.objects.get().name == "Binance main"


def test_delete_removes_the_account_and_its_secrets(api) -> None:
    body = create(api, api_key="key-to-delete", api_secret="secret-to-delete").json()
    assert api.delete(f"{URL}/{body['id']}").status_code == 204
    assert not ExchangeAccount.objects.exists()
    assert not Secret.objects.exists()
    assert api.get(f"{URL}/{body['id']}").status_code == 404


def test_list_filters_searches_sorts_and_paginates(api) -> None:
    for name, exchange in [("b-one", "binanceusdm"), ("a-two", "gate"), ("c-three", "gate")]:
        create(api, name=name, exchange=exchange)
    gate = api.get(URL, {"exchange": "gate", "ordering": "-name"}).json()
    assert [row["name"] for row in gate["items"]] == ["c-three", "a-two"]
    assert api.get(URL, {"search": "one"}).json()["count"] == 1
    page = api.get(URL, {"limit": 1, "offset": 1}).json()
    assert page["count"] == 3
    assert [row["name"] for row in page["items"]] == ["b-one"]


def test_changes_are_recorded_with_the_user_and_reason(api, admin_user) -> None:
    body = create(api, api_key="history-key-value").json()
    patch(api, body["id"], default_leverage=3, api_key="history-key-value-2")
    latest = ExchangeAccount.objects.get().history.first()
    assert latest.history_user == admin_user
    assert latest.history_change_reason == "api_key replaced"
    delta = latest.diff_against(latest.prev_record)
    assert {change.field for change in delta.changes} >= {"default_leverage"}
