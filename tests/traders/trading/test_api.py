"""/api/v1/trade: preview, execute (with Idempotency-Key), plans, cancel, alerts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from apps.core.models import IdempotentRequest
from apps.exchanges.adapters.paper import PaperAdapter
from apps.exchanges.models import ExchangeAccount, PaperOrder
from apps.exchanges.tasks import process_paper_orders
from apps.market.models import Market
from apps.traders.models import Alert, Execution, RiskProfile, TradePlan, Trader
from tests.exchanges.paper.helpers import flat, paper_account, release, store_bars

pytestmark = pytest.mark.django_db

PREVIEW = "/api/v1/trade/preview"
EXECUTE = "/api/v1/trade/execute"
SYMBOL = "BTC/USDT:USDT"


# --- helpers shared with test_pages.py (plain functions: importing fixtures would re-collect tests) --


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def setup_paper_trader(name: str = "Paper desk") -> tuple[Trader, Any]:
    """A paper account priced at 20,000 (bar 0), rising to hit a 21,000 take-profit at bar 2."""
    market, feed = store_bars([flat(20000), flat(20100), (20100, 21100, 20050, 21000)])
    account = paper_account(name=f"{name} account")
    profile = RiskProfile.objects.create(name=f"{name} profile", symbol_cooldown_seconds=0)
    trader = Trader.objects.create(name=name, account=account, risk_profile=profile)
    return trader, feed


def preview_body(trader: Trader, **changes: Any) -> dict[str, Any]:
    return {"trader_id": trader.pk, "symbol": SYMBOL, "side": "buy", "stop_loss": "19500", "take_profit": "21000"} | (
        changes
    )


def post(client: Client, url: str, body: dict, **headers: str):
    return client.post(url, body, content_type="application/json", headers=headers)


def error_fields(response) -> list[str]:
    return [item["loc"][-1] for item in response.json()["detail"]]


@pytest.fixture
def paper_trader(db):
    return setup_paper_trader()


# --- preview -------------------------------------------------------------------------------------


def test_preview_answers_rounded_quantity_estimate_and_full_risk_report(operator, paper_trader) -> None:
    trader, _feed = paper_trader
    response = post(client_for(operator), PREVIEW, preview_body(trader, reason="breakout"))
    assert response.status_code == 201, response.content
    body = response.json()
    plan = TradePlan.objects.get()
    assert body["id"] == plan.pk and body["status"] == "previewed"
    # 1 % of 10,000 risked over a 500 stop distance.
    assert body["quantity"] == "0.2" and body["requested_quantity"] is None
    assert Decimal(body["reference_price"]) == Decimal(20000)
    assert body["live"] is False and body["confirmation_required"] is False and body["confirmation_phrase"] is None
    assert body["reason"] == "breakout" and body["created_by"] == operator.username
    estimate = body["estimate"]
    assert set(estimate) == {
        "notional",
        "fee_rate",
        "entry_fee",
        "margin",
        "liquidation_price",
        "loss_at_stop",
        "gain_at_target",
    }
    assert Decimal(estimate["notional"]) == Decimal(4000)
    assert Decimal(estimate["entry_fee"]) > 0 and Decimal(estimate["margin"]) > 0
    report = body["risk_report"]
    assert report["decision"] == plan.risk_report["decision"] != "rejected"
    assert Decimal(report["quantity"]) == Decimal("0.2") and report["requested_quantity"] is None
    assert report["checks"] == plan.risk_report["checks"] and len(report["checks"]) > 3
    assert set(report["checks"][0]) == {"rule", "value", "limit", "verdict", "message"}
    assert body["expires_at"] is not None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"symbol": "DOGE/USDT:USDT"}, "symbol"),
        ({"quantity": "-1"}, "quantity"),
        ({"quantity": "0"}, "quantity"),
        ({"stop_loss": "20500"}, "stop_loss"),  # above the entry of a buy
        ({"take_profit": "19000"}, "take_profit"),
        ({"leverage": 50}, "leverage"),  # the market allows 20x
        ({"leverage": 0}, "leverage"),
        ({"side": "long"}, "side"),
        ({"order_type": "limit"}, "entry_price"),
        ({"trader_id": 999999}, "trader_id"),
    ],
)
def test_preview_422_names_the_field_and_stores_nothing(operator, paper_trader, changes, field) -> None:
    trader, _feed = paper_trader
    Market.objects.filter(symbol=SYMBOL).update(max_leverage=20)
    response = post(client_for(operator), PREVIEW, preview_body(trader, **changes))
    assert response.status_code == 422, response.content
    assert error_fields(response) == [field]
    assert not TradePlan.objects.exists()


def test_viewer_cannot_preview_execute_cancel_or_acknowledge(viewer, paper_trader) -> None:
    trader, _feed = paper_trader
    client = client_for(viewer)
    assert post(client, PREVIEW, preview_body(trader)).status_code == 403
    assert post(client, PREVIEW, {"junk": True}).status_code == 403  # refused before the body is read
    assert post(client, EXECUTE, {"plan_id": 1}, **{"Idempotency-Key": "k"}).status_code == 403
    assert post(client, "/api/v1/trade/plans/1/cancel", {}).status_code == 403
    assert post(client, "/api/v1/trade/alerts/1/acknowledge", {}).status_code == 403
    assert not TradePlan.objects.exists() and not IdempotentRequest.objects.exists()
    assert client.get("/api/v1/trade/plans").status_code == 200


def test_anonymous_gets_401() -> None:
    assert post(Client(), PREVIEW, {}).status_code == 401


def test_preview_answers_503_when_the_exchange_cannot_price(operator, paper_trader, monkeypatch) -> None:
    from apps.exchanges.adapters import errors

    def down(self, symbol):
        raise errors.ExchangeUnavailable("maintenance")

    monkeypatch.setattr(PaperAdapter, "fetch_ticker", down)
    trader, _feed = paper_trader
    response = post(client_for(operator), PREVIEW, preview_body(trader))
    assert response.status_code == 503 and "maintenance" in response.json()["detail"]
    assert not TradePlan.objects.exists()


# --- execute -------------------------------------------------------------------------------------


def _preview(client: Client, trader: Trader, **changes: Any) -> dict[str, Any]:
    response = post(client, PREVIEW, preview_body(trader, **changes))
    assert response.status_code == 201, response.content
    return response.json()


def test_execute_moves_a_paper_plan_to_protection_placed_then_completed(
    operator, paper_trader, django_capture_on_commit_callbacks
) -> None:
    trader, feed = paper_trader
    client = client_for(operator)
    plan_id = _preview(client, trader)["id"]
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, EXECUTE, {"plan_id": plan_id})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "pending"  # the answer is given before the worker runs
    detail = client.get(f"/api/v1/trade/plans/{plan_id}").json()
    assert detail["status"] == "protection_placed"
    assert sorted(e["leg"] for e in detail["executions"]) == ["entry", "stop_loss", "take_profit"]
    assert [(e["from_status"], e["to_status"]) for e in detail["events"]][:2] == [
        ("", "previewed"),
        ("previewed", "pending"),
    ]
    assert detail["events"][1]["actor"] == operator.username
    release(feed, 2)
    process_paper_orders()
    detail = client.get(f"/api/v1/trade/plans/{plan_id}").json()
    assert (detail["status"], detail["close_reason"]) == ("completed", "take_profit")


def test_repeated_execute_with_the_same_key_replays_the_first_answer(
    operator, paper_trader, django_capture_on_commit_callbacks
) -> None:
    trader, _feed = paper_trader
    client = client_for(operator)
    plan_id = _preview(client, trader)["id"]
    key = {"Idempotency-Key": "ticket-42"}
    with django_capture_on_commit_callbacks(execute=True):
        first = post(client, EXECUTE, {"plan_id": plan_id}, **key)
    assert first.status_code == 200, first.content
    executions, orders = Execution.objects.count(), PaperOrder.objects.count()
    assert executions == 3 and orders == 3

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = post(client, EXECUTE, {"plan_id": plan_id}, **key)
    assert again.status_code == 200
    assert again.json() == first.json()  # PostgreSQL stores JSON as jsonb: same document, key order may differ
    assert callbacks == []
    assert (Execution.objects.count(), PaperOrder.objects.count()) == (executions, orders)

    record = IdempotentRequest.objects.get()
    assert (record.scope, record.key, record.status_code, record.user) == ("trade.execute", "ticket-42", 200, operator)
    assert record.response == first.json()

    different = post(client, EXECUTE, {"plan_id": plan_id, "confirmation": "x"}, **key)
    assert different.status_code == 422 and error_fields(different) == ["Idempotency-Key"]
    assert IdempotentRequest.objects.count() == 1

    # Without a key (or with a new one) the service answers: the plan is no longer a preview.
    conflict = post(client, EXECUTE, {"plan_id": plan_id})
    assert conflict.status_code == 409 and "only a preview can be executed" in conflict.json()["detail"]
    assert post(client, EXECUTE, {"plan_id": plan_id}, **{"Idempotency-Key": "other"}).status_code == 409
    assert (Execution.objects.count(), PaperOrder.objects.count()) == (executions, orders)


def test_a_stored_error_answer_is_replayed_too(operator, paper_trader) -> None:
    trader, _feed = paper_trader
    client = client_for(operator)
    plan_id = _preview(client, trader)["id"]
    post(client, f"/api/v1/trade/plans/{plan_id}/cancel", {})
    key = {"Idempotency-Key": "after-cancel"}
    first = post(client, EXECUTE, {"plan_id": plan_id}, **key)
    assert first.status_code == 409
    again = post(client, EXECUTE, {"plan_id": plan_id}, **key)
    assert (again.status_code, again.content) == (409, first.content)


@pytest.mark.parametrize("key", ["", "x" * 101, "tab\there", "naïve"])
def test_a_bad_idempotency_key_is_422(operator, paper_trader, key) -> None:
    trader, _feed = paper_trader
    client = client_for(operator)
    plan_id = _preview(client, trader)["id"]
    response = client.post(
        EXECUTE,
        {"plan_id": plan_id},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=key.encode().decode("latin-1"),
    )
    assert response.status_code == 422 and error_fields(response) == ["Idempotency-Key"]
    assert TradePlan.objects.get().status == "previewed"
    assert not IdempotentRequest.objects.exists()


def test_execute_of_an_unknown_plan_is_404(operator, db) -> None:
    assert post(client_for(operator), EXECUTE, {"plan_id": 12345}).status_code == 404


# --- live plans: never reaching an exchange -----------------------------------------------------


@pytest.fixture
def live_trader(paper_trader, monkeypatch):
    """A live account with fake keys; prices come from the paper account so nothing leaves TradeOps,
    and the state machine is never enqueued."""
    trader, _feed = paper_trader
    pricing = PaperAdapter(trader.account)
    monkeypatch.setattr("apps.traders.services.plans.adapter_for_account", lambda account: pricing)
    enqueued: list[int] = []
    monkeypatch.setattr("apps.traders.services.plans.trade_plan_enqueue", lambda plan_id: enqueued.append(plan_id))
    account = ExchangeAccount.objects.create(
        name="Binance main", exchange="binanceusdm", mode="live", price_source="live"
    )
    live = Trader.objects.create(name="Live desk", account=account, risk_profile=trader.risk_profile, live=True)
    live.enqueued = enqueued
    return live


def test_live_preview_asks_for_the_account_name(operator, live_trader) -> None:
    body = _preview(client_for(operator), live_trader)
    assert body["live"] is True and body["confirmation_required"] is True
    assert body["confirmation_phrase"] == "Binance main"


def test_live_execute_refused_while_live_trading_is_switched_off(operator, live_trader, settings) -> None:
    settings.LIVE_TRADING_ENABLED = False
    client = client_for(operator)
    plan_id = _preview(client, live_trader)["id"]
    response = post(client, EXECUTE, {"plan_id": plan_id, "confirmation": "Binance main"})
    assert response.status_code == 403 and "LIVE_TRADING_ENABLED" in response.json()["detail"]
    assert TradePlan.objects.get().status == "previewed" and live_trader.enqueued == []


def test_live_execute_needs_the_typed_account_name(operator, live_trader, settings) -> None:
    settings.LIVE_TRADING_ENABLED = True
    client = client_for(operator)
    plan_id = _preview(client, live_trader)["id"]
    response = post(client, EXECUTE, {"plan_id": plan_id, "confirmation": "binance"})
    assert response.status_code == 422 and error_fields(response) == ["confirmation"]
    assert TradePlan.objects.get().status == "previewed" and live_trader.enqueued == []
    response = post(client, EXECUTE, {"plan_id": plan_id, "confirmation": "Binance main"})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "pending" and live_trader.enqueued == [plan_id]
    assert not Execution.objects.exists()


def test_live_execute_refused_when_the_trader_is_not_live(operator, live_trader, settings) -> None:
    settings.LIVE_TRADING_ENABLED = True
    client = client_for(operator)
    plan_id = _preview(client, live_trader)["id"]
    Trader.objects.filter(pk=live_trader.pk).update(live=False)
    response = post(client, EXECUTE, {"plan_id": plan_id, "confirmation": "Binance main"})
    assert response.status_code == 403 and "live flag" in response.json()["detail"]


# --- plans, cancel, close, alerts ------------------------------------------------------------------


def test_plan_list_filters_orders_and_paginates(viewer, operator, paper_trader) -> None:
    trader, _feed = paper_trader
    client = client_for(operator)
    ids = [_preview(client, trader)["id"] for _ in range(3)]
    post(client, f"/api/v1/trade/plans/{ids[0]}/cancel", {})
    reader = client_for(viewer)
    page = reader.get("/api/v1/trade/plans", {"limit": 2}).json()
    assert page["count"] == 3 and [p["id"] for p in page["items"]] == [ids[2], ids[1]]
    assert [p["id"] for p in reader.get("/api/v1/trade/plans", {"ordering": "created_at"}).json()["items"]] == ids
    cancelled = reader.get("/api/v1/trade/plans", {"status": "cancelled"}).json()["items"]
    assert [p["id"] for p in cancelled] == [ids[0]]
    assert reader.get("/api/v1/trade/plans", {"trader_id": trader.pk + 1}).json()["count"] == 0
    assert reader.get("/api/v1/trade/plans", {"account_id": trader.account_id}).json()["count"] == 3
    assert reader.get("/api/v1/trade/plans", {"symbol": SYMBOL}).json()["count"] == 3
    assert reader.get("/api/v1/trade/plans", {"status": "nonsense"}).status_code == 422
    assert reader.get("/api/v1/trade/plans/999999").status_code == 404


def test_cancel_a_preview_and_close_needs_a_position(operator, paper_trader) -> None:
    trader, _feed = paper_trader
    client = client_for(operator)
    plan_id = _preview(client, trader)["id"]
    response = post(client, f"/api/v1/trade/plans/{plan_id}/close", {})
    assert response.status_code == 409 and "no position" in response.json()["detail"]
    response = post(client, f"/api/v1/trade/plans/{plan_id}/cancel", {})
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert post(client, f"/api/v1/trade/plans/{plan_id}/cancel", {}).status_code == 409


def test_close_an_open_position(operator, paper_trader, django_capture_on_commit_callbacks) -> None:
    trader, _feed = paper_trader
    client = client_for(operator)
    plan_id = _preview(client, trader)["id"]
    with django_capture_on_commit_callbacks(execute=True):
        post(client, EXECUTE, {"plan_id": plan_id})
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, f"/api/v1/trade/plans/{plan_id}/close", {})
    assert response.status_code == 200 and response.json()["exit_requested"] is True
    plan = TradePlan.objects.get()
    assert (plan.status, plan.close_reason) == ("completed", "exit")


def test_alerts_unacknowledged_first_and_acknowledge(viewer, operator, paper_trader) -> None:
    trader, _feed = paper_trader
    old = Alert.objects.create(level="warning", kind="position_drift", message="old", account=trader.account)
    new = Alert.objects.create(level="critical", kind="order_unknown", message="new", account=trader.account)
    client = client_for(operator)
    response = post(client, f"/api/v1/trade/alerts/{old.pk}/acknowledge", {})
    assert response.status_code == 200
    assert response.json()["acknowledged_by"] == operator.username and response.json()["acknowledged_at"]
    items = client_for(viewer).get("/api/v1/trade/alerts").json()["items"]
    assert [item["id"] for item in items] == [new.pk, old.pk]
    open_only = client.get("/api/v1/trade/alerts", {"acknowledged": "false"}).json()
    assert [item["message"] for item in open_only["items"]] == ["new"]
    assert post(client, "/api/v1/trade/alerts/999999/acknowledge", {}).status_code == 404
