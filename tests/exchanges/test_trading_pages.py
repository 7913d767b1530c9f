"""/exchanges/<id>/: balance, positions and orders of one account, its HTMX partials and order cancelling."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from django.test import Client

from apps.exchanges import selectors
from apps.exchanges.adapters.base import OrderRequest, OrderType, Side
from apps.exchanges.adapters.errors import ExchangeUnavailable
from apps.exchanges.adapters.paper import PaperAdapter
from apps.exchanges.models import PaperOrder
from tests.exchanges.paper.helpers import SYMBOL, flat, paper_account, store_bars

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def trading():
    """A 0.01 BTC long from a market buy, and one resting limit buy at 19000."""
    store_bars([flat(20000), flat(20000)])
    account = paper_account(name="paper desk")
    adapter = PaperAdapter(account)
    adapter.create_order(
        OrderRequest(symbol=SYMBOL, side=Side.BUY, type=OrderType.MARKET, amount=D("0.01"), client_order_id="entry")
    )
    resting = adapter.create_order(
        OrderRequest(
            symbol=SYMBOL,
            side=Side.BUY,
            type=OrderType.LIMIT,
            amount=D("0.01"),
            price=D("19000"),
            client_order_id="rest",
        )
    )
    return account, adapter, resting


def test_viewer_sees_balance_positions_and_orders_without_cancel_buttons(viewer, trading) -> None:
    account, _, resting = trading
    response = logged_in(viewer).get(f"/exchanges/{account.pk}/")
    assert response.status_code == 200
    body = response.content.decode()
    # The USDT balance (9999.919984) in cents, like all money on the pages.
    assert 'id="account-balance"' in body and "9,999.92" in body and "9999.919984" not in body
    assert 'id="account-positions"' in body and "long" in body and "20004" in body
    assert 'id="account-orders"' in body and "rest" in body and "entry" in body
    created = PaperOrder.objects.get(pk=resting.id).created_at
    assert f"{created:%Y-%m-%d %H:%M}" in body  # order times as UTC dates, not epoch milliseconds
    assert body.count('hx-trigger="live-refresh" data-live-on="plan fill') == 3  # balance, positions, orders
    assert "Cancel" not in body
    assert logged_in(viewer).post(f"/exchanges/{account.pk}/orders/{resting.id}/cancel/").status_code == 403
    assert logged_in(viewer).get(f"/exchanges/{account.pk}/orders/{resting.id}/cancel/confirm/").status_code == 403
    assert PaperOrder.objects.get(pk=resting.id).status == "open"


def test_account_list_links_to_the_account_page(viewer, trading) -> None:
    account, *_ = trading
    assert f'href="/exchanges/{account.pk}/"' in logged_in(viewer).get("/exchanges/").content.decode()


def test_partials_render_alone_and_orders_filter_and_page(viewer, trading) -> None:
    account, adapter, _ = trading
    client = logged_in(viewer)
    balance = client.get(f"/exchanges/{account.pk}/balance/", headers=HTMX).content.decode()
    assert balance.startswith('<article id="account-balance"') and "<nav" not in balance
    positions = client.get(f"/exchanges/{account.pk}/positions/", headers=HTMX).content.decode()
    assert positions.startswith('<div id="account-positions"') and "20004" in positions

    opened = client.get(f"/exchanges/{account.pk}/orders/", {"status": "open"}, headers=HTMX).content.decode()
    assert opened.startswith('<div id="account-orders"')
    assert "rest" in opened and "entry" not in opened
    assert "?status=open" in opened  # the refresh keeps the filter
    assert (
        "No orders match"
        in client.get(f"/exchanges/{account.pk}/orders/", {"symbol": "ETH/USDT:USDT"}).content.decode()
    )

    for index in range(25):
        adapter.create_order(
            OrderRequest(
                symbol=SYMBOL,
                side=Side.BUY,
                type=OrderType.LIMIT,
                amount=D("0.01"),
                price=D("18000"),
                client_order_id=f"ladder-{index:02d}",
            )
        )
    first = client.get(f"/exchanges/{account.pk}/orders/", {"status": "open"}).content.decode()
    assert "ladder-24" in first and "page 1 of 2" in first and 'href="?status=open&amp;page=2"' in first
    second = client.get(f"/exchanges/{account.pk}/orders/", {"status": "open", "page": 2}).content.decode()
    assert "rest" in second and "ladder-24" not in second


def test_operator_cancels_through_htmx_and_gets_the_table_back(operator, trading) -> None:
    account, _, resting = trading
    client = logged_in(operator)
    page = client.get(f"/exchanges/{account.pk}/").content.decode()
    assert f'hx-post="/exchanges/{account.pk}/orders/{resting.id}/cancel/?page=1"' in page
    assert "hx-confirm=" in page and f'href="/exchanges/{account.pk}/orders/{resting.id}/cancel/confirm/"' in page

    response = client.post(f"/exchanges/{account.pk}/orders/{resting.id}/cancel/?page=1", headers=HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.startswith('<div id="account-orders"') and "canceled" in body
    assert PaperOrder.objects.get(pk=resting.id).status == "canceled"


def test_operator_cancels_without_javascript_through_the_confirmation_page(operator, trading) -> None:
    account, _, resting = trading
    client = logged_in(operator)
    confirm = client.get(f"/exchanges/{account.pk}/orders/{resting.id}/cancel/confirm/", {"status": "open"})
    assert confirm.status_code == 200
    assert f'action="/exchanges/{account.pk}/orders/{resting.id}/cancel/?status=open"' in confirm.content.decode()
    response = client.post(f"/exchanges/{account.pk}/orders/{resting.id}/cancel/?status=open")
    assert response.status_code == 302 and response["Location"] == f"/exchanges/{account.pk}/?status=open"
    assert PaperOrder.objects.get(pk=resting.id).status == "canceled"
    assert client.post(f"/exchanges/{account.pk}/orders/999999/cancel/").status_code == 404


def test_a_cancel_refused_by_a_guard_shows_why_and_leaves_the_order_open(operator, trading, cancel_refused) -> None:
    account, _, resting = trading
    client = logged_in(operator)
    url = f"/exchanges/{account.pk}/orders/{resting.id}/cancel/"
    response = client.post(url)
    assert response.status_code == 409 and f"The order was not cancelled: {cancel_refused}" in response.content.decode()
    table = client.post(url, headers=HTMX).content.decode()
    assert table.startswith('<div id="account-orders"') and f"The order was not cancelled: {cancel_refused}" in table
    assert PaperOrder.objects.get(pk=resting.id).status == "open"


def test_an_unreachable_exchange_shows_a_message_in_each_card(viewer, trading, monkeypatch) -> None:
    account, *_ = trading

    def adapter_for_account(target):
        raise ExchangeUnavailable("binanceusdm timed out")

    monkeypatch.setattr(selectors, "adapter_for_account", adapter_for_account)
    response = logged_in(viewer).get(f"/exchanges/{account.pk}/")
    assert response.status_code == 200
    body = response.content.decode()
    # Balance and positions come from the adapter; a paper account's orders are its own rows and still show.
    assert body.count("Could not read from") == 2
    assert "rest" in body
    assert "ExchangeUnavailable" in body and "binanceusdm timed out" in body


def test_unknown_account_is_404(viewer) -> None:
    assert logged_in(viewer).get("/exchanges/999999/").status_code == 404
