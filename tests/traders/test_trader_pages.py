"""The /traders/ pages: viewers read, operators create, edit, start and stop (with a confirmation
step, and the typed account name for a live trader); bad input is shown on the form and saves nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.audit.models import DecisionLog
from apps.market.models import ExchangeId
from apps.traders.models import Execution, PlanEvent, TradePlan, Trader
from tests.factories import ExchangeAccountFactory, MarketFactory, RiskProfileFactory, TraderFactory
from tests.traders.approval_helpers import approve_pending
from tests.traders.conftest import client_for, trade_plan_for

pytestmark = pytest.mark.django_db
LIST = "/traders/"
NEW = "/traders/new/"


def with_plan(trader: Trader, status: str, **fields) -> TradePlan:
    plan = trade_plan_for(trader)
    TradePlan.objects.filter(pk=plan.pk).update(status=status, **fields)
    plan.refresh_from_db()
    return plan


def completed_today(trader: Trader) -> TradePlan:
    """A long bought at 60,000 and sold at 60,500 (0.01 BTC), 0.30 fees in all: realised 4.70."""
    plan = with_plan(trader, "completed", filled_quantity=Decimal("0.01"))
    for leg, side, price, fee in (("entry", "buy", 60000, "0.24"), ("take_profit", "sell", 60500, "0.06")):
        Execution.objects.create(
            plan=plan,
            leg=leg,
            client_order_id=f"to-{plan.pk}-{leg}",
            side=side,
            order_type="market",
            amount=Decimal("0.01"),
            filled=Decimal("0.01"),
            average_price=Decimal(price),
            fee=Decimal(fee),
            fee_currency="USDT",
            status="filled",
        )
    PlanEvent.objects.create(plan=plan, from_status="protection_placed", to_status="completed", reason="take-profit")
    return plan


def form_data(**overrides) -> dict:
    data = {
        "name": "Bot",
        "account": ExchangeAccountFactory().pk,
        "risk_profile": RiskProfileFactory().pk,
        "decision_mode": "rules",
        "sizing": "risk",
        "sizing_pct": "1",
        "leverage": "2",
        "stop_loss": "percent",
        "stop_loss_value": "2",
        "take_profit": "percent",
        "take_profit_value": "4",
        "atr_period": "14",
        "markets": [MarketFactory().pk],
    }
    return {**data, **overrides}


def test_list_shows_each_trader_with_status_markets_strategy_positions_and_pnl(viewer, runnable_trader) -> None:
    with_plan(runnable_trader, "protection_placed", filled_quantity=Decimal("0.01"))
    completed_today(runnable_trader)
    Trader.objects.filter(pk=runnable_trader.pk).update(strategy_version=1, status="running")
    TraderFactory(name="Idle desk")
    page = client_for(viewer).get(LIST).content.decode()
    row = page[page.index(f'id="trader-{runnable_trader.pk}"') :].split("</tr>")[0]
    assert "Runner" in row and "status-running" in row and "BTC/USDT:USDT" in row
    assert "RSI dip" in row and "v1 pinned" in row
    assert '<td class="num">1</td>' in row  # one plan holds a position
    assert "4.70" in row
    assert "Idle desk" in page and "status-stopped" in page
    assert "/traders/new/" not in page and "/start/" not in page  # a viewer gets no buttons


def test_list_filters_by_status_and_account_and_sorts(viewer, runnable_trader) -> None:
    other = TraderFactory(name="Aardvark")
    Trader.objects.filter(pk=runnable_trader.pk).update(status="running")
    client = client_for(viewer)
    page = client.get(LIST, {"status": "running"}).content.decode()
    assert "Runner" in page and "Aardvark" not in page
    page = client.get(LIST, {"account": other.account_id}).content.decode()
    assert "Aardvark" in page and "Runner" not in page
    page = client.get(LIST, {"ordering": "-name"}).content.decode()
    assert page.index("Runner") < page.index("Aardvark")
    partial = client.get(LIST, {"status": "stopped"}, HTTP_HX_REQUEST="true").content.decode()
    assert partial.startswith('<div id="trader-list">') and "Aardvark" in partial


def test_list_paginates(viewer) -> None:
    account = ExchangeAccountFactory()
    for number in range(27):
        TraderFactory(name=f"desk {number:02d}", account=account)
    client = client_for(viewer)
    page = client.get(LIST).content.decode()
    assert "desk 24" in page and "desk 25" not in page and "page 1 of 2 (27 traders)" in page
    assert "desk 26" in client.get(LIST, {"page": 2}).content.decode()


def test_a_stale_heartbeat_is_shown_in_red(viewer, runnable_trader) -> None:
    long_ago = timezone.now() - timedelta(hours=3)
    Trader.objects.filter(pk=runnable_trader.pk).update(status="running", heartbeat_at=long_ago, updated_at=long_ago)
    page = client_for(viewer).get(LIST).content.decode()
    assert '<span class="stale"' in page and "two 1h intervals" in page
    Trader.objects.filter(pk=runnable_trader.pk).update(heartbeat_at=timezone.now())
    assert '<span class="stale"' not in client_for(viewer).get(LIST).content.decode()


def test_operator_creates_a_trader_through_the_form(operator) -> None:
    client = client_for(operator)
    page = client.get(NEW).content.decode()
    assert 'name="sizing_pct"' in page and 'id="trader-markets"' in page
    data = form_data()
    response = client.post(NEW, data)
    trader = Trader.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/traders/{trader.pk}/"
    assert (trader.name, trader.leverage, trader.status) == ("Bot", 2, "stopped")
    assert [market.pk for market in trader.markets.all()] == data["markets"]
    assert {record.history_user for record in trader.history.all()} == {operator}


@pytest.mark.parametrize(
    ("overrides", "shown"),
    [
        ({"sizing": "risk", "stop_loss": "none", "stop_loss_value": "0"}, "Sizing: risk sizing sizes to the stop"),
        ({"sizing_pct": "150"}, "Sizing %: must be at most 100"),
        ({"leverage": "0"}, "Leverage: "),
        ({"name": ""}, "Name: This field is required."),
    ],
)
def test_bad_input_is_shown_next_to_the_field_and_nothing_is_saved(operator, overrides, shown) -> None:
    response = client_for(operator).post(NEW, form_data(**overrides))
    assert response.status_code == 200
    assert shown in response.content.decode()
    assert not Trader.objects.exists()


def test_markets_are_offered_and_accepted_only_from_the_accounts_exchange(operator) -> None:
    gate_market = MarketFactory(exchange=ExchangeId.GATE, symbol="ETH/USDT:USDT", base="ETH")
    binance_account = ExchangeAccountFactory(name="Binance paper")
    gate_account = ExchangeAccountFactory(name="Gate paper", exchange=ExchangeId.GATE)
    MarketFactory()
    client = client_for(operator)
    box = client.get("/traders/form-markets/", {"account": gate_account.pk}).content.decode()
    assert "ETH/USDT:USDT" in box and "BTC/USDT:USDT" not in box
    box = client.get("/traders/form-markets/", {"account": binance_account.pk}).content.decode()
    assert "BTC/USDT:USDT" in box and "ETH/USDT:USDT" not in box
    page = client.post(NEW, form_data(account=binance_account.pk, markets=[gate_market.pk])).content.decode()
    assert "Markets: Select a valid choice." in page
    assert not Trader.objects.exists()


def test_operator_edits_a_trader_and_viewer_cannot(operator, viewer, runnable_trader) -> None:
    url = f"/traders/{runnable_trader.pk}/edit/"
    assert client_for(viewer).get(url).status_code == 403
    assert client_for(viewer).post(NEW, form_data()).status_code == 403
    client = client_for(operator)
    page = client.get(url).content.decode()
    assert 'value="Runner"' in page and "checked" in page  # its market is ticked
    data = form_data(
        name="Runner 2",
        account=runnable_trader.account_id,
        risk_profile=runnable_trader.risk_profile_id,
        strategy=runnable_trader.strategy_id,
        markets=[runnable_trader.markets.get().pk],
        sizing="fixed",
        sizing_pct="20",
    )
    assert client.post(url, data).status_code == 302
    runnable_trader.refresh_from_db()
    assert (runnable_trader.name, runnable_trader.sizing, runnable_trader.sizing_pct) == ("Runner 2", "fixed", 20)
    page = client.post(url, {**data, "strategy_version": "9"}).content.decode()
    assert "Pinned strategy version: RSI dip has no version 9 (latest: 1)" in page


def test_start_and_stop_ask_for_confirmation_first(operator, viewer, runnable_trader) -> None:
    start, stop = f"/traders/{runnable_trader.pk}/start/", f"/traders/{runnable_trader.pk}/stop/"
    assert client_for(viewer).post(start, {"confirm": "yes"}).status_code == 403
    client = client_for(operator)
    page = client.get(start).content.decode()
    assert "Start Runner?" in page and "BTC/USDT:USDT" in page and "1h" in page
    assert client.post(start).status_code == 200  # no confirmation: nothing happens
    assert Trader.objects.get().status == "stopped"
    response = client.post(start, {"confirm": "yes"})
    assert response.status_code == 302 and Trader.objects.get().status == "running"
    page = client.get(f"/traders/{runnable_trader.pk}/").content.decode()
    assert "status-running" in page and f"started by {operator}" in page and stop in page
    response = client.post(start, {"confirm": "yes"})
    assert response.status_code == 422 and "already running" in response.content.decode()
    assert client.post(stop, {"confirm": "yes"}).status_code == 302
    assert Trader.objects.get().status == "stopped"


def test_start_without_a_strategy_says_why(operator, trader) -> None:
    response = client_for(operator).post(f"/traders/{trader.pk}/start/", {"confirm": "yes"})
    assert response.status_code == 422
    assert "strategy: a trader needs a strategy to run" in response.content.decode()


def test_live_start_needs_the_typed_account_name(operator, live_account, runnable_trader, settings) -> None:
    settings.LIVE_TRADING_ENABLED = True
    Trader.objects.filter(pk=runnable_trader.pk).update(account=live_account, live=True)
    url = f"/traders/{runnable_trader.pk}/start/"
    client = client_for(operator)
    page = client.get(url).content.decode()
    assert "LIVE TRADER" in page and 'name="confirmation"' in page
    response = client.post(url, {"confirm": "yes", "confirmation": "Live"})
    assert response.status_code == 422 and "type the account name" in response.content.decode()
    assert Trader.objects.get().status == "stopped"
    settings.LIVE_TRADING_ENABLED = False
    response = client.post(url, {"confirm": "yes", "confirmation": "Live account"})
    assert response.status_code == 422 and "LIVE_TRADING_ENABLED" in response.content.decode()
    settings.LIVE_TRADING_ENABLED = True
    assert client.post(url, {"confirm": "yes", "confirmation": "Live account"}).status_code == 302
    assert Trader.objects.get().status == "running"


def test_detail_shows_settings_positions_open_plans_and_recent_decisions(viewer, runnable_trader) -> None:
    position = with_plan(
        runnable_trader,
        "protection_placed",
        filled_quantity=Decimal("0.0100"),
        average_entry_price=Decimal("60000.00"),
        stop_loss=Decimal("58800.0"),
    )
    pending = with_plan(runnable_trader, "pending")
    with_plan(runnable_trader, "cancelled")
    DecisionLog.objects.create(
        trader=runnable_trader,
        market=position.market,
        timeframe="1h",
        candle_open_time=timezone.now().replace(minute=0, second=0, microsecond=0),
        mode="rules",
        action="enter_long",
        reason="rsi_14 < 30",
        plan=position,
        outcome="traded",
    )
    page = client_for(viewer).get(f"/traders/{runnable_trader.pk}/").content.decode()
    settings_table = page[page.index('id="trader-settings"') : page.index('id="trader-positions"')]
    assert "RSI dip" in settings_table and "latest (v1)" in settings_table and "1h candles" in settings_table
    assert "Risk % of equity to the stop: 1.00 %" in settings_table and "2.00 % from the fill" in settings_table
    positions = page[page.index('id="trader-positions"') : page.index('id="trader-open-plans"')]
    assert f"/trade/plans/{position.pk}/" in positions and "0.01" in positions and "60000" in positions
    assert "0.0100" not in positions and "58800" in positions
    open_plans = page[page.index('id="trader-open-plans"') : page.index('id="trader-decisions"')]
    assert f"/trade/plans/{pending.pk}/" in open_plans and "Pending" in open_plans and "Cancelled" not in open_plans
    decisions = page[page.index('id="trader-decisions"') :]
    assert "Enter long" in decisions and "rsi_14 &lt; 30" in decisions and "Traded" in decisions
    assert f'href="/logs/?trader={runnable_trader.pk}"' in page
    assert "/edit/" not in page


def test_only_an_admin_sets_the_live_flag(operator, admin_user, live_account) -> None:
    data = form_data(account=live_account.pk, live="on", markets=[])
    assert client_for(operator).post(NEW, data).status_code == 302
    assert Trader.objects.get().live is False  # the box is disabled for operators: the flag stays off
    assert client_for(admin_user).post(NEW, {**data, "name": "Live bot"}).status_code == 302
    assert Trader.objects.get(name="Live bot").live is False  # four-eyes: waits for a second admin
    approve_pending()
    assert Trader.objects.get(name="Live bot").live is True
