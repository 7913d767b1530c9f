"""The traders admin: the services' rules shown on the form, saves recorded in the history, and
risk states, the kill switch and halt events read-only."""

from __future__ import annotations

import pytest

from apps.market.models import ExchangeId
from apps.traders import services
from apps.traders.models import RiskProfile, Trader
from tests.factories import ExchangeAccountFactory, MarketFactory, RiskProfileFactory, TraderFactory
from tests.strategies.factories import StrategyFactory
from tests.traders.approval_helpers import approve_pending
from tests.traders.conftest import client_for

pytestmark = pytest.mark.django_db
PROFILE_ADD = "/admin/traders/riskprofile/add/"
TRADER_ADD = "/admin/traders/trader/add/"


def profile_form(**overrides) -> dict:
    data = {
        "name": "Tight",
        "max_leverage": "3",
        "max_order_notional": "1000",
        "max_total_notional": "3000",
        "max_open_positions": "2",
        "symbol_cooldown_seconds": "60",
        "risk_per_trade": "0.01",
        "min_order_notional": "10",
        "max_symbol_notional": "",
        "max_asset_notional": "",
        "require_stop_loss": "on",
        "daily_loss_limit": "0.03",
        "max_drawdown": "0.1",
        "reset_daily_halt_next_day": "on",
    }
    return {**data, **overrides}


def test_profile_add_saves_with_history_user(admin_user) -> None:
    response = client_for(admin_user).post(PROFILE_ADD, profile_form())
    assert response.status_code == 302, response.content.decode()[:3000]
    profile = RiskProfile.objects.get()
    assert (profile.max_leverage, profile.max_symbol_notional) == (3, None)
    assert profile.history.get().history_user == admin_user


def test_profile_rules_are_shown_on_the_form_and_nothing_is_saved(admin_user) -> None:
    client = client_for(admin_user)
    page = client.post(PROFILE_ADD, profile_form(min_order_notional="2000")).content.decode()
    assert "2000 is above max_order_notional 1000:" in page  # as typed, not 2000.000000000000
    page = client.post(PROFILE_ADD, profile_form(max_total_notional="500")).content.decode()
    assert "is below max_order_notional" in page
    page = client.post(PROFILE_ADD, profile_form(risk_per_trade="0.2")).content.decode()
    assert "at most 0.1" in page
    assert not RiskProfile.objects.exists()


def test_trader_live_on_a_paper_account_is_refused_on_the_form(admin_user, live_account) -> None:
    profile = RiskProfileFactory()
    paper = ExchangeAccountFactory()
    client = client_for(admin_user)
    data = {"name": "T", "account": paper.pk, "risk_profile": profile.pk, "live": "on"}
    page = client.post(TRADER_ADD, data).content.decode()
    assert "only a live account&#x27;s trader can trade live" in page
    assert not Trader.objects.exists()
    assert client.post(TRADER_ADD, {**data, "account": live_account.pk}).status_code == 302
    trader = Trader.objects.get()
    assert not trader.live, "going live waits for a second admin"
    approve_pending()
    trader.refresh_from_db()
    assert trader.live
    response = client.post(
        f"/admin/traders/trader/{trader.pk}/change/", {**data, "account": live_account.pk, "name": "T2"}
    )
    assert response.status_code == 302
    trader.refresh_from_db()
    assert trader.name == "T2" and trader.history.count() == 3  # created, approved live, renamed


def test_minimal_trader_gets_the_model_defaults(admin_user) -> None:
    data = {"name": "Minimal", "account": ExchangeAccountFactory().pk, "risk_profile": RiskProfileFactory().pk}
    assert client_for(admin_user).post(TRADER_ADD, data).status_code == 302
    trader = Trader.objects.get()
    assert (trader.decision_mode, trader.sizing, trader.leverage, trader.status) == ("rules", "risk", 1, "stopped")


def test_markets_of_another_exchange_are_refused_on_the_form(admin_user) -> None:
    gate = MarketFactory(exchange=ExchangeId.GATE, symbol="ETH/USDT:USDT", base="ETH")
    data = {"name": "T", "account": ExchangeAccountFactory().pk, "risk_profile": RiskProfileFactory().pk}
    page = client_for(admin_user).post(TRADER_ADD, {**data, "markets": [gate.pk]}).content.decode()
    assert "ETH/USDT:USDT is a gate market" in page
    assert not Trader.objects.exists()
    binance = MarketFactory()
    assert client_for(admin_user).post(TRADER_ADD, {**data, "markets": [binance.pk]}).status_code == 302
    assert list(Trader.objects.get().markets.all()) == [binance]


def test_list_shows_status_strategy_and_markets_and_filters_by_status(admin_user) -> None:
    strategy = StrategyFactory(name="RSI dip")
    running = TraderFactory(name="Runner", strategy=strategy, status="running")
    running.markets.set([MarketFactory()])
    TraderFactory(name="Idle")
    client = client_for(admin_user)
    page = client.get("/admin/traders/trader/").content.decode()
    assert "RSI dip" in page and "BTC/USDT:USDT" in page and "Running" in page and "Idle" in page
    page = client.get("/admin/traders/trader/", {"status__exact": "running"}).content.decode()
    assert "Runner" in page and "Idle" not in page
    page = client.get("/admin/traders/trader/", {"q": "RSI dip"}).content.decode()
    assert "Runner" in page and "Idle" not in page


def test_states_switch_and_events_are_read_only(admin_user, trader) -> None:
    services.kill_switch_engage(user=admin_user, reason="drill")
    services.trader_halt(trader=trader, reason="drill", user=admin_user)
    client = client_for(admin_user)
    for model, shown in (("traderriskstate", "Desk A"), ("killswitch", "drill"), ("haltevent", "drill")):
        page = client.get(f"/admin/traders/{model}/")
        assert page.status_code == 200 and shown in page.content.decode()
        assert client.get(f"/admin/traders/{model}/add/").status_code == 403
    assert client.get("/admin/traders/killswitch/1/history/").status_code == 200
