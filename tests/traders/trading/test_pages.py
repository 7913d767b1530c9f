"""Trade pages: the ticket (preview, execute), the plans list and a plan's detail with its timeline."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from apps.exchanges.adapters.paper import PaperAdapter
from apps.exchanges.models import ExchangeAccount
from apps.exchanges.tasks import process_paper_orders
from apps.market.models import Market
from apps.traders import trade_views
from apps.traders.models import Alert, Execution, TradePlan, Trader
from apps.traders.services.plans import PlanInput, trade_plan_preview
from tests.exchanges.paper.helpers import release
from tests.factories import MarketFactory
from tests.traders.trading.test_api import SYMBOL, client_for, setup_paper_trader

pytestmark = pytest.mark.django_db

TICKET = reverse("trade:ticket")
PREVIEW = reverse("trade:preview")
HTMX = {"HX-Request": "true"}


def ticket(trader: Trader, **changes: Any) -> dict[str, Any]:
    data = {
        "trader": trader.pk,
        "symbol": SYMBOL,
        "side": "buy",
        "order_type": "market",
        "quantity": "",
        "entry_price": "",
        "stop_loss": "19500",
        "take_profit": "21000",
        "leverage": "",
        "reason": "breakout",
    }
    return data | changes


def url(name: str, plan: TradePlan) -> str:
    return reverse(f"trade:{name}", args=[plan.pk])


def preview(trader: Trader, user) -> TradePlan:
    return trade_plan_preview(
        plan=PlanInput(
            trader_id=trader.pk, symbol=SYMBOL, side="buy", stop_loss=Decimal(19500), take_profit=Decimal(21000)
        ),
        user=user,
    )


@pytest.fixture
def paper_trader(db):
    return setup_paper_trader()


def test_ticket_lists_traders_and_only_their_exchange_markets(operator, paper_trader) -> None:
    trader, _feed = paper_trader
    MarketFactory(exchange="gate", symbol="ETH/USDT:USDT", base="ETH")
    gate = ExchangeAccount.objects.create(name="Gate paper", exchange="gate", mode="paper")
    other = Trader.objects.create(name="Gate desk", account=gate, risk_profile=trader.risk_profile)
    client = client_for(operator)
    page = client.get(TICKET, {"trader": trader.pk}).content.decode()
    assert 'id="trade-ticket"' in page and "Paper desk" in page and "Gate desk" in page
    assert f'value="{SYMBOL}"' in page and "ETH/USDT:USDT" not in page
    symbols = client.get(reverse("trade:symbols"), {"trader": other.pk}, headers=HTMX).content.decode()
    assert 'id="trade-symbols"' in symbols and "ETH/USDT:USDT" in symbols and SYMBOL not in symbols
    page = client.get(TICKET, {"trader": other.pk}).content.decode()
    assert "ETH/USDT:USDT" in page and f'value="{SYMBOL}"' not in page


def test_ticket_shows_the_markets_last_price(operator, paper_trader) -> None:
    trader, feed = paper_trader
    client = client_for(operator)
    assert 'hx-get="/trade/price/"' in client.get(TICKET).content.decode()
    price = client.get(reverse("trade:price"), {"trader": trader.pk, "symbol": SYMBOL}, headers=HTMX)
    assert f"Last price of {SYMBOL}: <strong>20000</strong>" in price.content.decode()
    feed.delete()  # no replay, no paper price: said, not hidden
    price = client.get(reverse("trade:price"), {"trader": trader.pk, "symbol": SYMBOL}, headers=HTMX)
    assert "No price for BTC/USDT:USDT: no released candle" in price.content.decode()


def test_nav_links(viewer) -> None:
    page = client_for(viewer).get(reverse("trade:plan_list")).content.decode()
    assert f'href="{TICKET}">Trade<' in page and f'href="{reverse("trade:plan_list")}">Plans<' in page


def test_operator_previews_from_the_ticket_and_sees_the_risk_report(operator, paper_trader) -> None:
    trader, _feed = paper_trader
    response = client_for(operator).post(PREVIEW, ticket(trader), headers=HTMX)
    assert response.status_code == 200
    page = response.content.decode()
    assert page.lstrip().startswith('<div id="trade-ticket">') and "<html" not in page
    plan = TradePlan.objects.get()
    assert plan.status == "previewed" and plan.reason == "breakout" and plan.created_by == operator
    assert '<strong class="plan-quantity">0.2</strong>' in page
    assert 'class="risk-report"' in page
    for check in plan.risk_report["checks"]:
        assert check["rule"] in page
    assert "verdict-pass" in page and "#2e7d32" in page
    assert "Notional" in page and "Liquidation price" in page
    assert f'hx-post="{url("plan_execute", plan)}"' in page and "Execute" in page
    assert "LIVE" not in page
    assert 'value="19500"' in page  # the ticket stays filled in for another try


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"stop_loss": "20500"}, "stop_loss", "stop-loss must be below the entry"),
        ({"leverage": "50"}, "leverage", "outside 1..20x"),
        ({"symbol": "DOGE/USDT:USDT"}, "symbol", "Select a valid choice"),
        ({"quantity": "-1"}, "quantity", "must be positive"),
        ({"quantity": "abc"}, "quantity", "Enter a number"),
    ],
)
def test_bad_input_rerenders_the_form_with_the_field_error(operator, paper_trader, changes, field, message) -> None:
    trader, _feed = paper_trader
    Market.objects.filter(symbol=SYMBOL).update(max_leverage=20)
    response = client_for(operator).post(PREVIEW, ticket(trader, **changes), headers=HTMX)
    assert response.status_code == 200
    page = response.content.decode()
    assert message in page
    assert 'id="trade-preview"' not in page
    assert "breakout</textarea>" in page  # the operator's input is kept
    if field in ("stop_loss", "leverage"):
        assert f'value="{changes[field]}"' in page
    assert not TradePlan.objects.exists()


def test_execute_lands_on_the_plan_detail_which_shows_the_timeline(
    operator, paper_trader, django_capture_on_commit_callbacks
) -> None:
    trader, feed = paper_trader
    client = client_for(operator)
    plan = preview(trader, operator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("plan_execute", plan), {"confirmation": ""}, headers=HTMX)
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == url("plan_detail", plan)
    plan.refresh_from_db()
    assert plan.status == "protection_placed"

    page = client.get(url("plan_detail", plan)).content.decode()
    assert 'id="plan-timeline"' in page and f'data-live-on="plan fill" data-live-where="plan_id={plan.pk}"' in page
    assert f'hx-get="{url("plan_timeline", plan)}"' in page
    assert "Previewed → Pending" in page and "Protection placed" in page
    for execution in Execution.objects.filter(plan=plan):
        assert execution.client_order_id in page
    assert "Close position" in page and "hx-confirm=" in page and "Cancel plan" not in page
    assert operator.username in page

    release(feed, 2)
    process_paper_orders()
    partial = client.get(url("plan_timeline", plan), headers=HTMX).content.decode()
    assert partial.lstrip().startswith('<section id="plan-timeline"')
    assert "Completed" in partial and "Take-profit hit" in partial
    assert "data-live-on" not in partial  # a finished plan stops following events
    assert "Close position" not in partial


def test_execute_without_htmx_redirects(operator, paper_trader, django_capture_on_commit_callbacks) -> None:
    trader, _feed = paper_trader
    plan = preview(trader, operator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(operator).post(url("plan_execute", plan))
    assert response.status_code == 302 and response.url == url("plan_detail", plan)
    # A second click is refused by the service and said so on the page.
    response = client_for(operator).post(url("plan_execute", plan), follow=True)
    assert "only a preview can be executed" in response.content.decode()
    assert Execution.objects.filter(plan=plan, leg="entry").count() == 1


def test_cancel_a_previewed_plan(operator, paper_trader) -> None:
    trader, _feed = paper_trader
    client = client_for(operator)
    plan = preview(trader, operator)
    page = client.get(url("plan_detail", plan)).content.decode()
    assert "Cancel plan" in page and "data-live-on" not in page  # a preview does not follow events
    response = client.post(url("plan_cancel", plan), headers=HTMX)
    assert response.headers["HX-Redirect"] == url("plan_detail", plan)
    plan.refresh_from_db()
    assert plan.status == "cancelled"
    page = client.get(url("plan_detail", plan)).content.decode()
    assert f"Plan {plan.pk}: cancelled." in page and "Cancel plan" not in page and "Execute" not in page
    response = client.post(url("plan_cancel", plan), follow=True)
    assert "can no longer be cancelled" in response.content.decode()


def test_viewer_reads_but_cannot_post(viewer, operator, paper_trader) -> None:
    trader, _feed = paper_trader
    plan = preview(trader, operator)
    client = client_for(viewer)
    page = client.get(TICKET)
    assert page.status_code == 200
    assert "needs the operator role" in page.content.decode() and '<form method="post" action="' + PREVIEW not in (
        page.content.decode()
    )
    assert client.post(PREVIEW, ticket(trader)).status_code == 403
    assert client.get(reverse("trade:symbols"), {"trader": trader.pk}).status_code == 403
    for name in ("plan_execute", "plan_cancel", "plan_close"):
        assert client.post(url(name, plan)).status_code == 403
    detail = client.get(url("plan_detail", plan)).content.decode()
    assert "Cancel plan" not in detail and "Execute" not in detail and "risk-report" in detail
    assert TradePlan.objects.count() == 1 and TradePlan.objects.get().status == "previewed"


def test_plan_list_filters_and_paginates(viewer, operator, paper_trader, monkeypatch) -> None:
    trader, _feed = paper_trader
    plans = [preview(trader, operator) for _ in range(3)]
    TradePlan.objects.filter(pk=plans[0].pk).update(status="cancelled")
    client = client_for(viewer)
    page = client.get(reverse("trade:plan_list")).content.decode()
    positions = [page.index(f'href="{url("plan_detail", plan)}"') for plan in plans]
    assert positions == sorted(positions, reverse=True)  # newest first
    table = client.get(reverse("trade:plan_list"), {"status": "cancelled"}, headers=HTMX).content.decode()
    assert table.lstrip().startswith('<div id="plan-table">')
    assert url("plan_detail", plans[0]) in table and url("plan_detail", plans[1]) not in table
    empty = client.get(reverse("trade:plan_list"), {"trader": trader.pk + 100}).content.decode()
    assert "No trade plans match." in empty
    monkeypatch.setattr(trade_views, "PAGE_SIZE", 2)
    first = client.get(reverse("trade:plan_list"), {"trader": trader.pk}).content.decode()
    assert "page 1 of 2" in first and f"trader={trader.pk}&amp;page=2" in first


def test_detail_shows_open_alerts(viewer, operator, paper_trader) -> None:
    trader, _feed = paper_trader
    plan = preview(trader, operator)
    Alert.objects.create(level="critical", kind="protection_failed", message="stop could not be placed", plan=plan)
    Alert.objects.create(
        level="info", kind="orphan_cancelled", message="seen already", plan=plan, acknowledged_at=plan.created_at
    )
    page = client_for(viewer).get(url("plan_detail", plan)).content.decode()
    assert "stop could not be placed" in page and "seen already" not in page


# --- live plans in the ticket (never reaching an exchange) ---------------------------------------


@pytest.fixture
def live_trader(paper_trader, monkeypatch):
    trader, _feed = paper_trader
    pricing = PaperAdapter(trader.account)
    monkeypatch.setattr("apps.traders.services.plans.adapter_for_account", lambda account: pricing)
    monkeypatch.setattr("apps.traders.services.plans.trade_plan_enqueue", lambda plan_id: None)
    account = ExchangeAccount.objects.create(
        name="Binance main", exchange="binanceusdm", mode="live", price_source="live"
    )
    return Trader.objects.create(name="Live desk", account=account, risk_profile=trader.risk_profile, live=True)


def test_live_preview_warns_and_asks_for_the_account_name(operator, live_trader, settings) -> None:
    settings.LIVE_TRADING_ENABLED = True
    client = client_for(operator)
    page = client.post(PREVIEW, ticket(live_trader), headers=HTMX).content.decode()
    assert "LIVE ORDER" in page and "real money" in page
    assert "Type the account name <code>Binance main</code> to confirm" in page
    plan = TradePlan.objects.get()
    response = client.post(url("plan_execute", plan), {"confirmation": "binance"}, headers=HTMX)
    partial = response.content.decode()
    assert response.status_code == 200 and "HX-Redirect" not in response.headers
    assert partial.lstrip().startswith(f'<div id="plan-confirm-{plan.pk}">')
    assert "type the account name" in partial and 'value="binance"' in partial
    plan.refresh_from_db()
    assert plan.status == "previewed"
    response = client.post(url("plan_execute", plan), {"confirmation": "Binance main"}, headers=HTMX)
    assert response.headers["HX-Redirect"] == url("plan_detail", plan)
    plan.refresh_from_db()
    assert plan.status == "pending"


def test_live_execute_refused_while_switched_off(operator, live_trader, settings) -> None:
    settings.LIVE_TRADING_ENABLED = False
    client = client_for(operator)
    client.post(PREVIEW, ticket(live_trader), headers=HTMX)
    plan = TradePlan.objects.get()
    partial = client.post(url("plan_execute", plan), {"confirmation": "Binance main"}, headers=HTMX).content.decode()
    assert "LIVE_TRADING_ENABLED" in partial
    plan.refresh_from_db()
    assert plan.status == "previewed"
