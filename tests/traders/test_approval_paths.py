"""Every way to make a four-eyes change (API, pages, admin) files a request instead of applying it, and the
approvals API and pages decide them. test_every_write_route_is_judged lists the write routes of the gated
models from the OpenAPI document, so a new route cannot escape this file."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.exchanges.models import ExchangeAccount
from apps.traders import services
from apps.traders.models import ChangeRequest, KillSwitch, RiskProfile, Trader, TraderRiskState
from tests.factories import ExchangeAccountFactory, MarketFactory, RiskProfileFactory, TraderFactory, UserFactory
from tests.traders.conftest import client_for
from tests.traders.test_admin import profile_form

pytestmark = pytest.mark.django_db
API = "/api/v1"
KEYS = {"api_key": "k" * 16, "api_secret": "s" * 16}


def send(client, method: str, url: str, body: dict | None = None):
    return getattr(client, method)(url, body or {}, content_type="application/json")


def pending() -> ChangeRequest:
    return ChangeRequest.objects.get(status=ChangeRequest.Status.PENDING)


def assert_waits(response, kind: str) -> ChangeRequest:
    assert response.status_code == 202, response.content
    request = pending()
    assert request.kind == kind
    assert response.json()["change_requests"] == [request.pk]
    assert "second admin" in response.json()["detail"]
    return request


# --- the API -------------------------------------------------------------------------------------


def test_api_trader_going_live_answers_202(alice):
    trader = TraderFactory(account=ExchangeAccountFactory(mode="live"))
    response = send(client_for(alice), "patch", f"{API}/traders/{trader.pk}", {"live": True, "sizing_pct": "3"})
    assert_waits(response, "trader_live")
    assert response.json()["id"] == trader.pk
    trader.refresh_from_db()
    assert (trader.live, trader.sizing_pct) == (False, Decimal(3))


def test_api_creating_a_live_trader_answers_202(alice):
    body = {"name": "New", "account": ExchangeAccountFactory(mode="live").pk, "risk_profile": RiskProfileFactory().pk}
    response = send(client_for(alice), "post", f"{API}/traders", {**body, "live": True})
    assert_waits(response, "trader_live")
    assert Trader.objects.get(pk=response.json()["id"]).live is False


def test_api_live_traders_model_change_answers_202(alice, live_trader):
    from apps.ai.services import model_config_create

    model = model_config_create(name="small", provider="llama_cpp", model="smollm2-135m")
    body = {"decision_mode": "ai", "ai_model_config": model.pk}
    assert_waits(send(client_for(alice), "patch", f"{API}/traders/{live_trader.pk}", body), "trader_ai")


def test_api_risk_profile_raise_answers_202_and_lowering_200(alice):
    profile = RiskProfileFactory()
    client = client_for(alice)
    lowered = send(client, "patch", f"{API}/risk-profiles/{profile.pk}", {"max_leverage": 2})
    assert lowered.status_code == 200 and lowered.json()["max_leverage"] == 2
    assert_waits(send(client, "patch", f"{API}/risk-profiles/{profile.pk}", {"max_leverage": 9}), "risk_raise")
    assert RiskProfile.objects.get(pk=profile.pk).max_leverage == 2


def test_api_account_going_live_answers_202(alice):
    account = ExchangeAccountFactory(mode="testnet")
    body = {"mode": "live", **KEYS}
    assert_waits(send(client_for(alice), "patch", f"{API}/exchange-accounts/{account.pk}", body), "account_live")
    assert ExchangeAccount.objects.get(pk=account.pk).mode == "testnet"


def test_api_creating_a_live_account_answers_202(alice):
    body = {"name": "Real", "exchange": "binanceusdm", "mode": "live", **KEYS}
    response = send(client_for(alice), "post", f"{API}/exchange-accounts", body)
    assert_waits(response, "account_live")
    assert ExchangeAccount.objects.get(pk=response.json()["id"]).mode == "testnet"


def test_api_kill_switch_engages_at_once_and_release_answers_202(alice):
    client = client_for(UserFactory(role="operator"))
    engaged = send(client, "post", f"{API}/kill-switch/engage", {"reason": "outage"})
    assert engaged.status_code == 200 and engaged.json()["engaged"] is True
    assert_waits(send(client, "post", f"{API}/kill-switch/release", {"reason": "over"}), "kill_switch_release")
    assert KillSwitch.objects.get().engaged


def test_api_live_traders_reset_answers_202(alice, live_trader):
    client = client_for(UserFactory(role="operator"))
    assert send(client, "post", f"{API}/traders/{live_trader.pk}/halt", {"reason": "look"}).status_code == 200
    assert_waits(send(client, "post", f"{API}/traders/{live_trader.pk}/reset", {"reason": "ok"}), "halt_reset")
    assert TraderRiskState.objects.get(trader=live_trader).halt == "operator"


def test_every_write_route_is_judged(client, admin_user):
    """The write routes of the models four-eyes guards: each either files a request (tested above) or is
    named here with why it needs none. A new route fails this test until someone decides."""
    schema = client_for(admin_user).get(f"{API}/openapi.json").json()
    guarded = ("/api/v1/traders", "/api/v1/risk-profiles", "/api/v1/exchange-accounts", "/api/v1/kill-switch")
    writes = {
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        if path.startswith(guarded)
        for method in operations
        if method in ("post", "put", "patch", "delete")
    }
    assert writes == {
        # files a request for what waits (the tests above)
        "POST /api/v1/traders",
        "PATCH /api/v1/traders/{row_id}",
        "POST /api/v1/traders/{trader_id}/reset",
        "POST /api/v1/risk-profiles",  # a new profile loosens nothing; moving a trader onto it may wait
        "PATCH /api/v1/risk-profiles/{row_id}",
        "POST /api/v1/exchange-accounts",
        "PATCH /api/v1/exchange-accounts/{row_id}",
        "POST /api/v1/kill-switch/release",
        # tighten or stop: never wait
        "POST /api/v1/kill-switch/engage",
        "POST /api/v1/traders/{trader_id}/halt",
        "POST /api/v1/traders/{trader_id}/stop",
        # starting a live-flagged trader needs the typed account name; the flag itself was approved
        "POST /api/v1/traders/{trader_id}/start",
        # deleting a row refuses while others use it; it loosens nothing
        "DELETE /api/v1/traders/{row_id}",
        "DELETE /api/v1/risk-profiles/{row_id}",
        "DELETE /api/v1/exchange-accounts/{row_id}",
    }


# --- the pages -----------------------------------------------------------------------------------


def test_trader_form_says_going_live_waits(alice):
    market = MarketFactory()
    trader = TraderFactory(name="Desk", account=ExchangeAccountFactory(mode="live", exchange=market.exchange))
    trader.markets.set([market])
    data = {
        "name": "Desk",
        "account": trader.account_id,
        "risk_profile": trader.risk_profile_id,
        "live": "on",
        "decision_mode": "rules",
        "sizing": "risk",
        "sizing_pct": "1",
        "leverage": "1",
        "stop_loss": "percent",
        "stop_loss_value": "2",
        "take_profit": "percent",
        "take_profit_value": "4",
        "atr_period": "14",
        "markets": [market.pk],
    }
    client = client_for(alice)
    response = client.post(f"/traders/{trader.pk}/edit/", data, follow=True)
    assert "Waiting for a second admin" in response.content.decode()
    assert pending().kind == "trader_live" and Trader.objects.get(pk=trader.pk).live is False


def test_risk_page_release_and_reset_wait(alice, live_trader):
    client = client_for(alice)
    client.post("/risk/kill-switch/engage/", {"reason": "outage"})
    page = client.post("/risk/kill-switch/release/", {"reason": "over"}, headers={"HX-Request": "true"})
    assert "Waiting for a second admin" in page.content.decode() and KillSwitch.objects.get().engaged
    services.trader_halt(trader=live_trader, reason="look", user=alice)
    row = client.post(f"/risk/traders/{live_trader.pk}/reset/", {"reason": "ok"}, headers={"HX-Request": "true"})
    assert "Waiting for a second admin" in row.content.decode()
    assert TraderRiskState.objects.get(trader=live_trader).halt == "operator"


def test_admin_site_routes_through_the_approval(alice):
    client = client_for(alice)
    profile = RiskProfileFactory(name="Tight", max_leverage=3)
    client.post(f"/admin/traders/riskprofile/{profile.pk}/change/", profile_form(max_leverage="9"), follow=True)
    assert RiskProfile.objects.get(pk=profile.pk).max_leverage == 3 and pending().kind == "risk_raise"

    account = ExchangeAccountFactory(name="Desk", mode="testnet")
    form = {
        "name": "Desk",
        "exchange": account.exchange,
        "mode": "live",
        "paper_starting_balance": "10000",
        "price_source": "live",
        "default_leverage": "1",
        "margin_mode": "isolated",
        **KEYS,
    }
    page = client.post(f"/admin/exchanges/exchangeaccount/{account.pk}/change/", form, follow=True).content.decode()
    assert "going live waits for a second admin" in page
    assert ExchangeAccount.objects.get(pk=account.pk).mode == "testnet"
    assert ChangeRequest.objects.filter(status="pending", kind="account_live").exists()


def test_admin_cannot_edit_a_change_request(alice):
    services.kill_switch_engage(user=alice, reason="outage")
    services.kill_switch_release(user=alice, reason="over")
    request = pending()
    page = client_for(alice).post(f"/admin/traders/changerequest/{request.pk}/change/", {"status": "approved"})
    assert page.status_code in (200, 403)
    assert ChangeRequest.objects.get(pk=request.pk).status == "pending"


# --- deciding over the API and on the pages -------------------------------------------------------


@pytest.fixture
def release_request(alice) -> ChangeRequest:
    services.kill_switch_engage(user=alice, reason="outage")
    services.kill_switch_release(user=alice, reason="over")
    return pending()


def test_api_lists_pending_with_the_diff(alice, release_request):
    body = client_for(UserFactory(role="viewer")).get(f"{API}/approvals?status=pending").json()
    [item] = body["items"]
    assert item["id"] == release_request.pk and item["requested_by"] == "alice"
    assert item["changes"][0] == {"field": "engaged", "before": "yes", "after": "no"}


def test_api_approve_refuses_the_requester_and_operators(alice, release_request):
    url = f"{API}/approvals/{release_request.pk}/approve"
    mine = send(client_for(alice), "post", url)
    assert mine.status_code == 403 and "second admin" in mine.json()["detail"]
    assert send(client_for(UserFactory(role="operator")), "post", url).status_code == 403
    assert KillSwitch.objects.get().engaged


def test_api_approve_applies_and_records(alice, bob, release_request):
    response = send(client_for(bob), "post", f"{API}/approvals/{release_request.pk}/approve", {"reason": "ok"})
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["decided_by"]) == ("approved", "bob")
    assert not KillSwitch.objects.get().engaged
    again = send(client_for(bob), "post", f"{API}/approvals/{release_request.pk}/approve")
    assert again.status_code == 409


def test_api_reject_needs_a_reason(alice, bob, release_request):
    url = f"{API}/approvals/{release_request.pk}/reject"
    assert send(client_for(bob), "post", url, {"reason": ""}).status_code == 422
    response = send(client_for(bob), "post", url, {"reason": "not yet"})
    assert (response.status_code, response.json()["status"], response.json()["reason"]) == (200, "rejected", "not yet")


def test_api_requester_cancels(alice, bob, release_request):
    url = f"{API}/approvals/{release_request.pk}/cancel"
    assert send(client_for(bob), "post", url).status_code == 403
    assert send(client_for(alice), "post", url).json()["status"] == "cancelled"


def test_pages_badge_and_confirmation(alice, bob, release_request):
    assert 'id="approvals-badge"' in client_for(bob).get("/approvals/").content.decode()
    assert 'id="approvals-badge"' not in client_for(UserFactory(role="operator")).get("/approvals/").content.decode()
    confirm = client_for(bob).get(f"/approvals/{release_request.pk}/approve/")
    assert confirm.status_code == 200 and "engaged" in confirm.content.decode()
    assert KillSwitch.objects.get().engaged, "a GET decides nothing"
    assert client_for(alice).post(f"/approvals/{release_request.pk}/approve/", {"confirm": "yes"}).status_code == 422
    assert client_for(UserFactory(role="operator")).get(f"/approvals/{release_request.pk}/approve/").status_code == 403
    done = client_for(bob).post(f"/approvals/{release_request.pk}/reject/", {"confirm": "yes", "reason": "no"})
    assert done.status_code == 302
    history = client_for(alice).get("/approvals/").content.decode()
    assert "rejected" in history and "bob" in history
