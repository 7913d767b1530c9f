"""/api/v1/traders with the trading rules, and start, stop and status: clear 4xx answers, never a 500."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.market.models import ExchangeId
from apps.traders.models import Trader
from tests.factories import ExchangeAccountFactory, MarketFactory, RiskProfileFactory
from tests.strategies.factories import StrategyFactory
from tests.traders.conftest import client_for, trade_plan_for

pytestmark = pytest.mark.django_db


def post(client, url: str, body: dict | None = None):
    return client.post(url, body or {}, content_type="application/json")


def error_fields(response) -> list[str]:
    return [item["loc"][-1] for item in response.json()["detail"]]


def new_trader_body(**overrides) -> dict:
    strategy = StrategyFactory(name="RSI dip")
    market = MarketFactory()
    body = {
        "name": "Bot",
        "account": ExchangeAccountFactory().pk,
        "risk_profile": RiskProfileFactory().pk,
        "strategy": strategy.pk,
        "strategy_version": 1,
        "markets": [market.pk],
        "sizing": "fixed",
        "sizing_pct": "25",
        "leverage": 3,
        "stop_loss": "atr",
        "stop_loss_value": "1.5",
        "take_profit": "none",
        "take_profit_value": "0",
        "atr_period": 21,
    }
    return {**body, **overrides}


def test_admin_creates_a_trader_with_its_rules_and_reads_them_back(admin_user) -> None:
    client = client_for(admin_user)
    response = post(client, "/api/v1/traders", new_trader_body())
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["strategy_name"], body["strategy_version"], body["market_symbols"]) == (
        "RSI dip",
        1,
        ["BTC/USDT:USDT"],
    )
    assert (body["sizing"], Decimal(body["sizing_pct"]), body["leverage"]) == ("fixed", Decimal(25), 3)
    assert (body["stop_loss"], Decimal(body["stop_loss_value"]), body["take_profit"]) == ("atr", Decimal("1.5"), "none")
    assert (body["status"], body["last_cycle_at"], body["heartbeat_at"]) == ("stopped", None, None)
    response = client.patch(
        f"/api/v1/traders/{body['id']}", {"strategy_version": None, "leverage": 5}, content_type="application/json"
    )
    assert (response.json()["strategy_version"], response.json()["leverage"]) == (None, 5)
    assert client.get("/api/v1/traders", {"status": "running"}).json()["count"] == 0
    assert client.get("/api/v1/traders", {"status": "stopped"}).json()["count"] == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"markets": "gate"}, "markets"),  # replaced below by a gate market's id
        ({"strategy_version": 7}, "strategy_version"),
        ({"sizing": "risk", "stop_loss": "none"}, "sizing"),
        ({"sizing": "martingale"}, "sizing"),
        ({"sizing_pct": "150"}, "sizing_pct"),
        ({"leverage": 0}, "leverage"),
        ({"stop_loss_value": "100", "stop_loss": "percent"}, "stop_loss_value"),
        ({"atr_period": 5000}, "atr_period"),
        ({"strategy": 999999}, "strategy"),
    ],
)
def test_bad_trader_answers_422_naming_the_field_and_stores_nothing(admin_user, overrides, field) -> None:
    if overrides.get("markets") == "gate":
        overrides = {"markets": [MarketFactory(exchange=ExchangeId.GATE, symbol="ETH/USDT:USDT", base="ETH").pk]}
    response = post(client_for(admin_user), "/api/v1/traders", new_trader_body(**overrides))
    assert response.status_code == 422, response.content
    assert error_fields(response) == [field]
    assert not Trader.objects.exists()


def test_operator_starts_reads_the_status_and_stops(operator, runnable_trader) -> None:
    client = client_for(operator)
    url = f"/api/v1/traders/{runnable_trader.pk}"
    response = post(client, f"{url}/start")
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["status_reason"]) == ("running", f"started by {operator}")
    response = post(client, f"{url}/start")
    assert response.status_code == 409 and response.json() == {"detail": "trader Runner is already running"}
    status = client.get(f"{url}/status").json()
    assert status == {
        "status": "running",
        "reason": f"started by {operator}",
        "last_cycle_at": None,
        "heartbeat_at": None,
        "heartbeat_stale": False,
        "open_positions": 0,
    }
    assert post(client, f"{url}/stop").json()["status"] == "stopped"
    response = post(client, f"{url}/stop")
    assert response.status_code == 409 and response.json() == {"detail": "trader Runner is already stopped"}


def test_viewer_reads_the_status_but_cannot_start_or_stop(viewer, runnable_trader) -> None:
    client = client_for(viewer)
    url = f"/api/v1/traders/{runnable_trader.pk}"
    assert post(client, f"{url}/start").status_code == 403
    assert client.get(f"{url}/status").json()["status"] == "stopped"
    assert client.get("/api/v1/traders/999999/status").status_code == 404
    runnable_trader.refresh_from_db()
    assert runnable_trader.status == "stopped"


def test_start_without_a_strategy_or_markets_names_the_field(operator, trader) -> None:
    client = client_for(operator)
    response = post(client, f"/api/v1/traders/{trader.pk}/start")
    assert response.status_code == 422 and error_fields(response) == ["strategy"]
    assert post(client, "/api/v1/traders/999999/start").status_code == 404
    response = client.post(f"/api/v1/traders/{trader.pk}/start", "[]", content_type="application/json")
    assert response.status_code == 422
    trader.refresh_from_db()
    assert trader.status == "stopped"


def test_live_trader_start_keeps_every_live_safeguard(operator, live_account, runnable_trader, settings) -> None:
    Trader.objects.filter(pk=runnable_trader.pk).update(account=live_account, live=True)
    client = client_for(operator)
    url = f"/api/v1/traders/{runnable_trader.pk}/start"
    settings.LIVE_TRADING_ENABLED = False
    response = post(client, url, {"confirmation": "Live account"})
    assert response.status_code == 403 and "LIVE_TRADING_ENABLED" in response.json()["detail"]
    settings.LIVE_TRADING_ENABLED = True
    response = post(client, url, {"confirmation": "live acc"})
    assert response.status_code == 422 and error_fields(response) == ["confirmation"]
    assert Trader.objects.get().status == "stopped"
    assert post(client, url, {"confirmation": "Live account"}).json()["status"] == "running"


def test_heartbeat_is_stale_after_two_intervals_of_the_timeframe(viewer, runnable_trader) -> None:
    trade_plan_for(runnable_trader)  # previewed: no position
    two_hours_ago = timezone.now() - timedelta(hours=2, minutes=1)
    Trader.objects.filter(pk=runnable_trader.pk).update(
        status="running", heartbeat_at=two_hours_ago, updated_at=two_hours_ago
    )
    url = f"/api/v1/traders/{runnable_trader.pk}/status"
    client = client_for(viewer)
    status = client.get(url).json()
    assert (status["heartbeat_stale"], status["open_positions"]) == (True, 0)  # the strategy trades 1h candles
    Trader.objects.filter(pk=runnable_trader.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=119))
    assert client.get(url).json()["heartbeat_stale"] is False
    Trader.objects.filter(pk=runnable_trader.pk).update(status="stopped", heartbeat_at=two_hours_ago)
    assert client.get(url).json()["heartbeat_stale"] is False  # a stopped trader has no heartbeat to miss
