"""The API's answers to input it cannot act on: each names what was wrong and changes nothing.

409: a delete of a row other rows use. 422: numbers beyond the database's integers, bodies that are
not JSON objects. 404: a PATCH that loses a race to a DELETE. 403: a role too low, whatever the body.
The 422 answer is the shape the OpenAPI document promises.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from apps.exchanges.models import ExchangeAccount
from apps.exchanges.services import exchange_account_create
from apps.market import services as market_services
from apps.market.models import Market
from apps.secrets.models import Secret
from apps.strategies import services as strategy_services
from apps.strategies.models import Strategy
from tests.factories import MarketFactory, TraderFactory
from tests.strategies.factories import StrategyFactory, client_for
from tests.traders.conftest import trade_plan_for
from tradeops.api import api as ninja_api

pytestmark = pytest.mark.django_db

TOO_BIG = str(2**63)  # one past the widest integer column
JSON = "application/json"


@pytest.fixture
def admin(admin_user) -> Client:
    return client_for(admin_user)


def openapi() -> dict[str, Any]:
    return ninja_api.get_openapi_schema(path_params={})


# --- 409: deletes of rows in use -------------------------------------------------------------------


def test_deleting_an_account_in_use_is_409_naming_its_users_and_keeps_everything(admin) -> None:
    account = exchange_account_create(name="Desk", exchange="binanceusdm", secrets={"api_key": "k" * 16})
    trade_plan_for(TraderFactory(account=account))
    secrets_before = Secret.objects.count()

    response = admin.delete(f"/api/v1/exchange-accounts/{account.pk}")

    assert response.status_code == 409
    assert response.json() == {
        "detail": "The exchange account is still used by 1 trade plan, 1 trader. Nothing was deleted.",
        "used_by": [{"model": "trade plan", "count": 1}, {"model": "trader", "count": 1}],
    }
    account.refresh_from_db()
    assert account.api_key is not None and Secret.objects.count() == secrets_before


def test_deleting_a_market_in_use_is_409_and_keeps_it(admin) -> None:
    market = MarketFactory()
    trade_plan_for(TraderFactory())  # a plan on that market
    trade_plan_for(TraderFactory())

    response = admin.delete(f"/api/v1/markets/{market.pk}")

    assert response.status_code == 409
    assert response.json()["used_by"] == [{"model": "trade plans", "count": 2}]
    assert Market.objects.filter(pk=market.pk).exists()


def test_deleting_an_unused_row_still_works(admin) -> None:
    market = MarketFactory(symbol="SOL/USDT:USDT", base="SOL")
    assert admin.delete(f"/api/v1/markets/{market.pk}").status_code == 204
    assert not Market.objects.filter(pk=market.pk).exists()


def test_deletes_document_the_409(viewer) -> None:
    paths = openapi()["paths"]
    for path in ("/api/v1/exchange-accounts/{row_id}", "/api/v1/markets/{row_id}", "/api/v1/strategies/{strategy_id}"):
        answer = paths[path]["delete"]["responses"][409]
        assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/InUseOut"}


def test_the_admin_shows_its_protected_page_instead_of_deleting(admin) -> None:
    account = TraderFactory().account

    page = admin.post(f"/admin/exchanges/exchangeaccount/{account.pk}/delete/", {"post": "yes"})

    assert page.status_code == 200 and "would require deleting the following protected" in page.content.decode()
    assert ExchangeAccount.objects.filter(pk=account.pk).exists()


# --- 422: integers beyond 64 bits ----------------------------------------------------------------


def _integer_query_parameters() -> list[tuple[str, str]]:
    """(path, parameter) for every integer query parameter of every GET without path parameters."""
    found = []
    for path, operations in openapi()["paths"].items():
        get = operations.get("get")
        if get is None or "{" in path:
            continue
        for parameter in get.get("parameters", []):
            schema = parameter.get("schema", {})
            types = {schema.get("type")} | {option.get("type") for option in schema.get("anyOf", [])}
            if parameter["in"] == "query" and "integer" in types:
                found.append((path, parameter["name"]))
    return found


def test_every_list_endpoint_has_a_bounded_offset() -> None:
    listed = {path for path, name in _integer_query_parameters() if name == "offset"}
    assert len(listed) >= 10, listed


@pytest.mark.parametrize(("path", "name"), _integer_query_parameters())
def test_an_integer_beyond_64_bits_in_a_query_is_422_naming_it(viewer, path: str, name: str) -> None:
    query = {name: TOO_BIG}
    if path == "/api/v1/orders" and name != "account":
        query["account"] = "1"  # required there
    response = client_for(viewer).get(path, query)

    assert response.status_code == 422, response.content
    assert ["query", name] in [error["loc"] for error in response.json()["detail"]]


@pytest.mark.parametrize(
    "path", ["/api/v1/markets/{}", "/api/v1/strategies/{}", "/api/v1/trade/plans/{}", "/api/v1/signals/{}"]
)
def test_an_id_beyond_64_bits_in_a_path_is_422(viewer, path: str) -> None:
    response = client_for(viewer).get(path.format(TOO_BIG))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][0] == "path"


def test_an_id_beyond_64_bits_in_a_body_is_422_and_stores_nothing(admin) -> None:
    account = TraderFactory().account
    body = {"name": "T", "account": account.pk, "risk_profile": TOO_BIG}

    response = admin.post("/api/v1/traders", body, content_type=JSON)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "payload", "risk_profile"]
    assert account.traders.count() == 1


# --- 422: bodies that are not JSON objects -------------------------------------------------------


@pytest.mark.parametrize("body", ["false", "true", "[]", "1", '"name"', "null"])
def test_a_patch_whose_body_is_not_an_object_is_422_and_changes_nothing(request, body: str) -> None:
    operator = client_for(request.getfixturevalue("operator"))
    strategy = StrategyFactory(enabled=False)

    response = operator.patch(f"/api/v1/strategies/{strategy.pk}", body, content_type=JSON)

    assert response.status_code == 422
    assert response.json() == {"detail": [{"loc": ["body", "payload"], "msg": "must be a JSON object"}]}
    strategy.refresh_from_db()
    assert (strategy.version, strategy.enabled) == (1, False)


def test_every_body_schema_refuses_a_non_object(admin) -> None:
    market = MarketFactory()
    for method, path in [
        (admin.post, "/api/v1/markets"),
        (admin.patch, f"/api/v1/markets/{market.pk}"),
        (admin.post, "/api/v1/kill-switch/engage"),
        (admin.post, "/api/v1/trade/preview"),
    ]:
        response = method(path, "false", content_type=JSON)
        assert response.status_code == 422, (path, response.content)


# --- 404: a PATCH racing a DELETE ----------------------------------------------------------------


def _deleted_first(monkeypatch, module: Any, name: str, row: Any) -> None:
    """The DELETE commits between the endpoint's lookup and the service's locked re-read."""
    update = getattr(module, name)

    def delete_then_update(**kwargs: Any) -> Any:
        type(row).objects.filter(pk=row.pk).delete()
        return update(**kwargs)

    monkeypatch.setattr(module, name, delete_then_update)


def test_a_strategy_patch_that_loses_the_race_to_a_delete_is_404(request, monkeypatch) -> None:
    strategy = StrategyFactory()
    _deleted_first(monkeypatch, strategy_services, "strategy_update", strategy)

    response = client_for(request.getfixturevalue("operator")).patch(
        f"/api/v1/strategies/{strategy.pk}", {"description": "late"}, content_type=JSON
    )

    assert response.status_code == 404
    assert not Strategy.objects.filter(pk=strategy.pk).exists()  # not brought back by the late write


def test_a_crud_patch_that_loses_the_race_to_a_delete_is_404(admin, monkeypatch) -> None:
    market = MarketFactory()
    _deleted_first(monkeypatch, market_services, "market_update", market)

    response = admin.patch(f"/api/v1/markets/{market.pk}", {"notes": "late"}, content_type=JSON)

    assert response.status_code == 404
    assert not Market.objects.filter(pk=market.pk).exists()


# --- 403: the role before the body ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "path"),
    [
        ("viewer", "/api/v1/strategies"),
        ("viewer", "/api/v1/kill-switch/engage"),
        ("viewer", "/api/v1/trade/preview"),
        ("viewer", "/api/v1/markets"),
        ("operator", "/api/v1/markets"),
        ("operator", "/api/v1/exchange-accounts"),
    ],
)
def test_a_role_too_low_gets_403_whatever_the_body(request, role: str, path: str) -> None:
    client = client_for(request.getfixturevalue(role))
    for body in ({"surprise": "x"}, "false", "not json"):
        response = client.post(path, body, content_type=JSON)
        assert response.status_code == 403, (body, response.content)
        assert "role" in response.json()["detail"]


def test_docs_and_schema_need_a_role(outsider, viewer) -> None:
    for path in ("/api/v1/docs", "/api/v1/openapi.json"):
        assert Client().get(path).status_code == 302  # to the login page
        assert client_for(outsider).get(path).status_code == 403
        assert client_for(viewer).get(path).status_code == 200


# --- the documented 422 ------------------------------------------------------------------------------


def test_the_documented_422_is_the_list_that_is_sent(viewer) -> None:
    document = client_for(viewer).get("/api/v1/openapi.json").json()
    components = document["components"]["schemas"]
    detail = components["ValidationErrorOut"]["properties"]["detail"]
    assert detail["type"] == "array" and detail["items"] == {"$ref": "#/components/schemas/FieldErrorOut"}
    assert set(components["FieldErrorOut"]["required"]) == {"loc", "msg"}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if operation.get("parameters") or operation.get("requestBody"):
                schema = operation["responses"]["422"]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ValidationErrorOut"}, (method, path)

    sent = client_for(viewer).get("/api/v1/markets", {"offset": "-1"}).json()
    assert sent == {"detail": [{"loc": ["query", "offset"], "msg": "Input should be greater than or equal to 0"}]}


# --- 422: NUL characters, which no database text column can store ---------------------------------


def test_a_nul_character_in_a_query_is_422_naming_the_parameter(viewer) -> None:
    response = client_for(viewer).get("/api/v1/markets", {"search": "BTC\x00", "ordering": "symbol"})

    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [["query", "search"]]


def test_a_nul_character_in_a_body_is_422_naming_the_field_and_stores_nothing(admin) -> None:
    response = admin.post("/api/v1/risk-profiles", {"name": "Tight\x00"}, content_type=JSON)

    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"].startswith("name must not contain a NUL character")
    assert admin.get("/api/v1/risk-profiles").json()["count"] == 0
