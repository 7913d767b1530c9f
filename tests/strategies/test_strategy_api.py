"""/api/v1/strategies: every endpoint, 422 answers with exact spec paths, and who may do what."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.strategies.models import Strategy
from tests.strategies.factories import (
    BAD_REFERENCE_PATH,
    StrategyFactory,
    bad_reference_spec,
    client_for,
    good_spec,
    two_error_spec,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("known_markets")]
URL = "/api/v1/strategies"


@pytest.fixture
def api(operator) -> Client:
    return client_for(operator)


def post(client: Client, path: str, body: dict | None = None):
    return client.post(f"{URL}{path}", body if body is not None else {}, content_type="application/json")


def patch(client: Client, strategy_id: int, **fields):
    return client.patch(f"{URL}/{strategy_id}", fields, content_type="application/json")


def test_create_returns_201_with_version_and_mirrored_fields(api) -> None:
    response = post(api, "", {"name": "Trend", "spec": good_spec(timeframe="4h", cooldown_bars=2)})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["name"], body["version"], body["enabled"], body["cooldown_bars"]) == ("Trend", 1, False, 2)
    assert (body["timeframe"], body["markets"]) == ("4h", ["BTC/USDT:USDT"])


def test_create_with_an_invalid_spec_answers_422_with_every_path_and_stores_nothing(api) -> None:
    response = post(api, "", {"name": "Broken", "spec": two_error_spec()})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert [(item["path"], item["msg"]) for item in detail] == [
        (BAD_REFERENCE_PATH, "unknown indicator 'ema_201'"),
        ("exit.short.left", "unknown indicator 'rsi_9'"),
    ]
    assert all(item["loc"] == ["body", "spec"] for item in detail)
    assert not Strategy.objects.exists()


def test_create_with_a_structural_error_names_the_path(api) -> None:
    spec = good_spec()
    spec["indicators"][0]["period"] = 0
    response = post(api, "", {"name": "Broken", "spec": spec})
    assert response.status_code == 422
    assert [item["path"] for item in response.json()["detail"]] == ["indicators[0].period"]


def test_duplicate_name_answers_422_naming_name(api) -> None:
    StrategyFactory(name="Trend")
    response = post(api, "", {"name": "Trend", "spec": good_spec()})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "name"]
    assert Strategy.objects.count() == 1


def test_list_filters_search_orders_and_paginates(api) -> None:
    StrategyFactory(name="Alpha trend", enabled=True)
    StrategyFactory(name="Beta", description="mean reversion", spec=good_spec(timeframe="4h"))
    StrategyFactory(name="Gamma")
    names = lambda response: [row["name"] for row in response.json()["items"]]  # noqa: E731
    assert names(api.get(URL)) == ["Alpha trend", "Beta", "Gamma"]
    assert api.get(URL).json()["count"] == 3
    assert names(api.get(URL, {"enabled": "true"})) == ["Alpha trend"]
    assert names(api.get(URL, {"enabled": "false"})) == ["Beta", "Gamma"]
    assert names(api.get(URL, {"search": "REVERSION"})) == ["Beta"]
    assert names(api.get(URL, {"timeframe": "4h"})) == ["Beta"]
    assert names(api.get(URL, {"ordering": "-name", "limit": 2})) == ["Gamma", "Beta"]
    assert names(api.get(URL, {"offset": 2})) == ["Gamma"]
    assert api.get(URL, {"ordering": "spec"}).status_code == 422


def test_detail_shows_version_and_recent_history_with_users(api, operator) -> None:
    created = post(api, "", {"name": "Trend", "spec": good_spec()}).json()
    patch(api, created["id"], spec=good_spec(cooldown_bars=4))
    post(api, f"/{created['id']}/toggle")
    body = api.get(f"{URL}/{created['id']}").json()
    assert body["version"] == 2
    assert [(entry["version"], entry["reason"], entry["user"]) for entry in body["history"]] == [
        (2, "enabled", operator.username),
        (2, "spec changed: v1 → v2", operator.username),
        (1, "created", operator.username),
    ]
    assert body["history"][-1]["change"] == "created"
    assert api.get(f"{URL}/999999").status_code == 404


def test_detail_history_is_limited_to_the_last_five(api) -> None:
    strategy = StrategyFactory()
    for _ in range(3):
        post(api, f"/{strategy.pk}/toggle")
        post(api, f"/{strategy.pk}/toggle")
    assert len(api.get(f"{URL}/{strategy.pk}").json()["history"]) == 5


def test_patch_rules(api) -> None:
    strategy = StrategyFactory(name="Trend", spec=good_spec())
    body = patch(api, strategy.pk, name="Renamed", enabled=True).json()
    assert (body["name"], body["enabled"], body["version"]) == ("Renamed", True, 1)
    body = patch(api, strategy.pk, spec=good_spec(cooldown_bars=9)).json()
    assert (body["version"], body["cooldown_bars"]) == (2, 9)

    response = patch(api, strategy.pk, spec=bad_reference_spec())
    assert response.status_code == 422
    assert response.json()["detail"][0]["path"] == BAD_REFERENCE_PATH
    assert patch(api, strategy.pk, name=None).status_code == 422
    stale = patch(api, strategy.pk, spec=good_spec(cooldown_bars=1), expected_version=1)
    assert stale.status_code == 422
    assert "changed by someone else" in stale.json()["detail"][0]["msg"]
    assert Strategy.objects.get().version == 2


def test_delete(api) -> None:
    strategy = StrategyFactory()
    assert api.delete(f"{URL}/{strategy.pk}").status_code == 204
    assert not Strategy.objects.exists()
    assert api.delete(f"{URL}/{strategy.pk}").status_code == 404


def test_toggle_flips_without_a_body_and_sets_with_one(api) -> None:
    strategy = StrategyFactory()
    # A POST without a body (curl -X POST) flips the state.
    assert api.post(f"{URL}/{strategy.pk}/toggle", content_type="application/json").json()["enabled"] is True
    assert post(api, f"/{strategy.pk}/toggle", {"enabled": True}).json()["enabled"] is True
    assert post(api, f"/{strategy.pk}/toggle", {}).json()["enabled"] is False
    assert post(api, f"/{strategy.pk}/toggle", {"enabled": False}).json()["enabled"] is False


def test_presets_are_complete_valid_specs(api) -> None:
    presets = api.get(f"{URL}/presets").json()
    assert {preset["name"] for preset in presets} >= {"ema_trend", "rsi_mean_reversion"}
    for preset in presets:
        assert preset["description"]
        assert post(api, "/validate", {"spec": preset["spec"]}).json() == {"valid": True, "errors": []}


def test_from_preset(api) -> None:
    body = {"preset": "bollinger_breakout", "name": "BB 4h", "timeframe": "4h", "markets": ["ETH/USDT:USDT"]}
    response = post(api, "/from-preset", body)
    assert response.status_code == 201
    assert (response.json()["name"], response.json()["timeframe"]) == ("BB 4h", "4h")

    response = post(api, "/from-preset", {"preset": "bollinger_breakout", "timeframe": "2w", "markets": []})
    assert response.status_code == 422
    assert {item["path"] for item in response.json()["detail"]} == {"timeframe", "markets"}
    unknown = post(api, "/from-preset", {"preset": "nope", "markets": ["BTC/USDT"]})
    assert unknown.status_code == 422
    assert unknown.json()["detail"][0]["loc"] == ["body", "preset"]
    duplicate = post(api, "/from-preset", {**body, "timeframe": "1h"})
    assert duplicate.status_code == 422
    assert duplicate.json()["detail"][0]["loc"] == ["body", "name"]
    assert Strategy.objects.count() == 1


@pytest.mark.parametrize("role_fixture", ["viewer", "operator", "admin_user"])
def test_validate_is_open_to_every_role_and_stores_nothing(request, role_fixture: str) -> None:
    client = client_for(request.getfixturevalue(role_fixture))
    assert post(client, "/validate", {"spec": good_spec()}).json() == {"valid": True, "errors": []}
    answer = post(client, "/validate", {"spec": two_error_spec()}).json()
    assert answer["valid"] is False
    assert answer["errors"][0] == {"path": BAD_REFERENCE_PATH, "message": "unknown indicator 'ema_201'"}
    assert len(answer["errors"]) == 2
    assert post(client, "/validate", {"spec": [1, 2]}).json()["valid"] is False
    assert not Strategy.objects.exists()


def write_calls(client: Client, strategy_id: int) -> dict[str, int]:
    return {
        "create": post(client, "", {"name": "New", "spec": good_spec()}).status_code,
        "from-preset": post(client, "/from-preset", {"preset": "ema_trend", "markets": ["BTC/USDT"]}).status_code,
        "patch": patch(client, strategy_id, description="x").status_code,
        "toggle": post(client, f"/{strategy_id}/toggle").status_code,
        "delete": client.delete(f"{URL}/{strategy_id}").status_code,
    }


def test_viewer_reads_but_cannot_write(viewer) -> None:
    strategy = StrategyFactory()
    client = client_for(viewer)
    assert client.get(URL).status_code == 200
    assert client.get(f"{URL}/{strategy.pk}").status_code == 200
    assert client.get(f"{URL}/presets").status_code == 200
    assert set(write_calls(client, strategy.pk).values()) == {403}
    assert list(Strategy.objects.values_list("name", "enabled", "description")) == [(strategy.name, False, "")]


@pytest.mark.parametrize("role_fixture", ["operator", "admin_user"])
def test_operators_and_admins_write(request, role_fixture: str) -> None:
    strategy = StrategyFactory()
    calls = write_calls(client_for(request.getfixturevalue(role_fixture)), strategy.pk)
    assert calls == {"create": 201, "from-preset": 201, "patch": 200, "toggle": 200, "delete": 204}


@pytest.mark.parametrize(("user_fixture", "status"), [(None, 401), ("outsider", 403)])
def test_anonymous_401_and_roleless_403_everywhere(request, user_fixture: str | None, status: int) -> None:
    strategy = StrategyFactory()
    client = client_for(request.getfixturevalue(user_fixture) if user_fixture else None)
    assert client.get(URL).status_code == status
    assert client.get(f"{URL}/{strategy.pk}").status_code == status
    assert client.get(f"{URL}/presets").status_code == status
    assert post(client, "/validate", {"spec": good_spec()}).status_code == status
    assert set(write_calls(client, strategy.pk).values()) == {status}
    assert Strategy.objects.count() == 1


def test_writes_need_a_csrf_token(operator) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    response = client.post(URL, {"name": "New", "spec": good_spec()}, content_type="application/json")
    assert response.status_code == 403
    assert not Strategy.objects.exists()


def test_every_endpoint_is_in_the_openapi_schema(viewer) -> None:
    paths = client_for(viewer).get("/api/v1/openapi.json").json()["paths"]
    assert {path for path in paths if path.startswith(URL)} == {
        URL,
        f"{URL}/presets",
        f"{URL}/validate",
        f"{URL}/from-preset",
        f"{URL}/{{strategy_id}}",
        f"{URL}/{{strategy_id}}/toggle",
    }
    assert set(paths[f"{URL}/{{strategy_id}}"]) == {"get", "patch", "delete"}


UNKNOWN_MARKET = "unknown market XYZ/USDT (known: BTC/USDT, BTC/USDT:USDT, ETH/USDT:USDT)"


def test_a_spec_naming_an_unknown_market_is_refused_naming_the_known_ones(api) -> None:
    response = post(api, "", {"name": "Nowhere", "spec": good_spec(markets=["BTC/USDT:USDT", "XYZ/USDT"])})

    assert response.status_code == 422
    assert response.json() == {"detail": [{"loc": ["body", "spec"], "path": "markets[1]", "msg": UNKNOWN_MARKET}]}
    assert not Strategy.objects.exists()
    preset = post(api, "/from-preset", {"preset": "ema_trend", "markets": ["XYZ/USDT"]})
    assert preset.status_code == 422 and preset.json()["detail"][0]["msg"] == UNKNOWN_MARKET
    checked = post(api, "/validate", {"spec": good_spec(markets=["XYZ/USDT"])}).json()
    assert checked == {"valid": False, "errors": [{"path": "markets[0]", "message": UNKNOWN_MARKET}]}


def test_a_nan_parameter_must_be_a_number(api) -> None:
    spec = good_spec(indicators=[{"id": "ema_50", "kind": "ema", "period": float("nan")}])
    response = post(api, "", {"name": "NaN", "spec": spec})  # the client writes the JSON extension NaN

    assert response.status_code == 422
    assert [(item["path"], item["msg"]) for item in response.json()["detail"]] == [
        ("indicators[0].period", "must be a number (not NaN or infinity)")
    ]
