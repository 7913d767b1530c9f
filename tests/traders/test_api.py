"""/api/v1/risk-profiles, /traders and /kill-switch: who may do what, and 422 naming the field."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.traders import services
from apps.traders.models import HaltEvent, KillSwitch, RiskProfile, Trader
from tests.factories import ExchangeAccountFactory, RiskProfileFactory
from tests.traders.approval_helpers import approve_pending
from tests.traders.conftest import T0, client_for

pytestmark = pytest.mark.django_db


def post(client, url: str, body: dict):
    return client.post(url, body, content_type="application/json")


def error_fields(response) -> list[str]:
    return [item["loc"][-1] for item in response.json()["detail"]]


def test_viewer_reads_everything(viewer, trader) -> None:
    client = client_for(viewer)
    profiles = client.get("/api/v1/risk-profiles").json()
    assert [item["name"] for item in profiles["items"]] == [trader.risk_profile.name]
    traders = client.get("/api/v1/traders", {"halted": "false"}).json()["items"]
    assert [(t["name"], t["account_name"], t["halt"]) for t in traders] == [("Desk A", trader.account.name, "")]
    assert client.get("/api/v1/traders", {"halted": "true"}).json()["count"] == 0
    switch = client.get("/api/v1/kill-switch").json()
    assert switch == {
        "engaged": False,
        "reason": "",
        "changed_by": None,
        "changed_at": None,
        "traders": [{"id": trader.pk, "name": "Desk A", "halt": "", "halt_reason": "", "halted_at": None}],
    }


def test_viewer_cannot_engage_halt_or_write(viewer, trader) -> None:
    client = client_for(viewer)
    assert post(client, "/api/v1/kill-switch/engage", {"reason": "x"}).status_code == 403
    assert post(client, f"/api/v1/traders/{trader.pk}/halt", {"reason": "x"}).status_code == 403
    assert post(client, "/api/v1/risk-profiles", {"name": "New"}).status_code == 403
    assert not KillSwitch.objects.exists() and not HaltEvent.objects.exists()


def test_operator_engages_and_releases_the_kill_switch(operator, trader) -> None:
    client = client_for(operator)
    response = post(client, "/api/v1/kill-switch/engage", {"reason": "exchange outage"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["engaged"], body["reason"], body["changed_by"]) == (True, "exchange outage", operator.username)
    assert body["changed_at"] is not None
    response = post(client, "/api/v1/kill-switch/release", {"reason": ""})
    assert response.status_code == 422 and error_fields(response) == ["reason"]
    assert KillSwitch.objects.get().engaged
    response = post(client, "/api/v1/kill-switch/release", {"reason": "over"})
    assert response.status_code == 202 and KillSwitch.objects.get().engaged  # four-eyes
    approve_pending()
    body = client.get("/api/v1/kill-switch").json()
    assert body["engaged"] is False and body["reason"].startswith("over (change request")


def test_operator_halts_and_resets_a_trader(operator, trader) -> None:
    services.trader_risk_update(trader=trader, equity=Decimal(1000), now=T0)
    client = client_for(operator)
    response = post(client, f"/api/v1/traders/{trader.pk}/reset", {"reason": "why"})
    assert response.status_code == 422 and error_fields(response) == ["trader"]
    body = post(client, f"/api/v1/traders/{trader.pk}/halt", {"reason": "checking fills"}).json()
    assert (body["halt"], body["halt_reason"]) == ("operator", "checking fills")
    assert client.get("/api/v1/kill-switch").json()["traders"][0]["halt"] == "operator"
    body = post(client, f"/api/v1/traders/{trader.pk}/reset", {"reason": "fills fine"}).json()
    assert (body["halt"], body["halted_at"]) == ("", None)
    assert post(client, "/api/v1/traders/999999/halt", {"reason": "x"}).status_code == 404


def test_profile_and_trader_writes_are_admin_only(operator, admin_user) -> None:
    assert post(client_for(operator), "/api/v1/risk-profiles", {"name": "Tight"}).status_code == 403
    client = client_for(admin_user)
    response = post(client, "/api/v1/risk-profiles", {"name": "Tight", "max_leverage": 3, "risk_per_trade": "0.005"})
    assert response.status_code == 201, response.content
    profile = response.json()
    assert (profile["max_leverage"], Decimal(profile["risk_per_trade"]), profile["max_symbol_notional"]) == (
        3,
        Decimal("0.005"),
        None,
    )
    account = ExchangeAccountFactory()
    response = post(client, "/api/v1/traders", {"name": "T", "account": account.pk, "risk_profile": profile["id"]})
    assert response.status_code == 201, response.content
    assert (response.json()["account_mode"], response.json()["risk_profile_name"]) == ("paper", "Tight")
    trader_id = response.json()["id"]
    response = client.patch(f"/api/v1/traders/{trader_id}", {"name": "T2"}, content_type="application/json")
    assert response.json()["name"] == "T2"
    assert client_for(operator).delete(f"/api/v1/traders/{trader_id}").status_code == 403
    response = client.delete(f"/api/v1/risk-profiles/{profile['id']}")
    assert response.status_code == 409 and response.json()["used_by"] == [{"model": "trader", "count": 1}]
    assert client.delete(f"/api/v1/traders/{trader_id}").status_code == 204
    assert client.delete(f"/api/v1/risk-profiles/{profile['id']}").status_code == 204


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"min_order_notional": 6000}, "min_order_notional"),
        ({"max_total_notional": 100}, "max_total_notional"),
        ({"risk_per_trade": "0.5"}, "risk_per_trade"),
        ({"daily_loss_limit": 1}, "daily_loss_limit"),
        ({"max_leverage": 200}, "max_leverage"),
        ({"max_drawdown": "0.123456"}, "max_drawdown"),
    ],
)
def test_bad_profile_answers_422_naming_the_field_and_stores_nothing(admin_user, body, field) -> None:
    response = post(client_for(admin_user), "/api/v1/risk-profiles", {"name": "Bad", **body})
    assert response.status_code == 422, response.content
    assert error_fields(response) == [field]
    assert not RiskProfile.objects.exists()


def test_patch_checks_against_the_stored_values(admin_user) -> None:
    profile = RiskProfileFactory()
    client = client_for(admin_user)
    response = client.patch(
        f"/api/v1/risk-profiles/{profile.pk}", {"min_order_notional": 9000}, content_type="application/json"
    )
    assert response.status_code == 422 and error_fields(response) == ["min_order_notional"]
    profile.refresh_from_db()
    assert profile.min_order_notional == 10


def test_live_trader_needs_a_live_account(admin_user, live_account) -> None:
    profile = RiskProfileFactory()
    paper = ExchangeAccountFactory()
    client = client_for(admin_user)
    body = {"name": "T", "account": paper.pk, "risk_profile": profile.pk, "live": True}
    response = post(client, "/api/v1/traders", body)
    assert response.status_code == 422 and error_fields(response) == ["live"]
    assert not Trader.objects.exists()
    assert post(client, "/api/v1/traders", {**body, "account": live_account.pk}).status_code == 202  # four-eyes


def test_null_clears_an_optional_cap_but_not_a_required_limit(admin_user) -> None:
    profile = RiskProfileFactory(max_symbol_notional=Decimal(3000))
    client = client_for(admin_user)
    url = f"/api/v1/risk-profiles/{profile.pk}"
    response = client.patch(url, {"max_symbol_notional": None}, content_type="application/json")
    assert response.status_code == 202  # no cap is looser: four-eyes
    approve_pending()
    assert client.get(url).json()["max_symbol_notional"] is None
    response = client.patch(url, {"max_order_notional": None}, content_type="application/json")
    assert response.status_code == 422 and error_fields(response) == ["max_order_notional"]
    profile.refresh_from_db()
    assert (profile.max_symbol_notional, profile.max_order_notional) == (None, Decimal(5000))
