"""An account's price source: paper accounts choose replayed or live exchange prices; testnet and live
accounts always trade on the exchange's; a paper account with open positions or orders keeps its own."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from django.db import IntegrityError
from django.test import Client

from apps.exchanges.adapters.base import OrderRequest, OrderType, Side
from apps.exchanges.adapters.paper import PaperAdapter
from apps.exchanges.models import ExchangeAccount
from apps.market.models import MarketFeed
from tests.exchanges.paper.helpers import SYMBOL, flat, store_bars

pytestmark = pytest.mark.django_db
URL = "/api/v1/exchange-accounts"
ADMIN_URL = "/admin/exchanges/exchangeaccount"


@pytest.fixture
def api(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def create(api: Client, **fields) -> dict:
    payload = {"name": "desk", "exchange": "binanceusdm", **fields}
    response = api.post(URL, payload, content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()


def patch(api: Client, account_id: int, **fields):
    return api.patch(f"{URL}/{account_id}", fields, content_type="application/json")


def open_long(account_id: int) -> None:
    """A 0.01 BTC long on the account, entered on a released replay candle."""
    store_bars([flat(20000)])
    order = OrderRequest(symbol=SYMBOL, side=Side.BUY, type=OrderType.MARKET, amount=D("0.01"), client_order_id="m1")
    PaperAdapter(ExchangeAccount.objects.get(pk=account_id)).create_order(order)


def test_a_paper_account_chooses_live_prices_and_its_feed_is_the_exchanges(api) -> None:
    body = create(api, price_source="live")
    assert body["price_source"] == "live"
    assert ExchangeAccount.objects.get(pk=body["id"]).feed_source == MarketFeed.Source.EXCHANGE
    assert create(api, name="replayed")["price_source"] == "replay"


def test_a_testnet_account_asking_for_replayed_prices_is_stored_on_exchange_prices(api) -> None:
    keys = {"api_key": "testnet-key-value", "api_secret": "testnet-secret-value"}
    body = create(api, mode="testnet", price_source="replay", **keys)
    assert body["price_source"] == "live"
    paper = create(api, name="paper")
    moved = patch(api, paper["id"], mode="testnet", **keys).json()
    assert moved["price_source"] == "live"


def test_the_database_refuses_replayed_prices_on_a_live_account() -> None:
    with pytest.raises(IntegrityError):
        ExchangeAccount.objects.create(name="main", exchange="binanceusdm", mode="live", price_source="replay")


def test_changing_the_source_with_an_open_position_is_refused_and_allowed_once_flat(api) -> None:
    body = create(api)
    open_long(body["id"])
    response = patch(api, body["id"], price_source="live")
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"][-1] == "price_source"
    assert "1 open position(s) and 0 open order(s) priced on replayed prices" in error["msg"]
    assert "would jump between two timelines" in error["msg"]
    assert ExchangeAccount.objects.get(pk=body["id"]).price_source == "replay"

    close = OrderRequest(
        symbol=SYMBOL, side=Side.SELL, type=OrderType.MARKET, amount=D("0.01"), client_order_id="c1", reduce_only=True
    )
    PaperAdapter(ExchangeAccount.objects.get(pk=body["id"])).create_order(close)
    assert patch(api, body["id"], price_source="live").json()["price_source"] == "live"


def test_other_edits_of_a_busy_account_are_allowed(api) -> None:
    body = create(api)
    open_long(body["id"])
    assert patch(api, body["id"], name="renamed", price_source="replay").status_code == 200


def test_the_admin_stores_exchange_prices_for_testnet_and_refuses_a_busy_paper_switch(admin_user) -> None:
    client = Client()
    client.force_login(admin_user)
    form = {
        "name": "desk",
        "exchange": "binanceusdm",
        "mode": "paper",
        "paper_starting_balance": "10000",
        "price_source": "replay",
        "default_leverage": "1",
        "margin_mode": "isolated",
    }
    assert client.post(f"{ADMIN_URL}/add/", form).status_code == 302
    account = ExchangeAccount.objects.get()
    open_long(account.pk)
    page = client.post(f"{ADMIN_URL}/{account.pk}/change/", {**form, "price_source": "live"})
    assert page.status_code == 200
    assert "would jump between two timelines" in page.content.decode()
    account.refresh_from_db()
    assert account.price_source == "replay"

    testnet = {**form, "name": "sandbox", "mode": "testnet", "api_key": "key-value-1", "api_secret": "secret-value-1"}
    assert client.post(f"{ADMIN_URL}/add/", testnet).status_code == 302
    assert ExchangeAccount.objects.get(name="sandbox").price_source == "live"
    listing = client.get(f"{ADMIN_URL}/?price_source__exact=live").content.decode()
    assert "sandbox" in listing
