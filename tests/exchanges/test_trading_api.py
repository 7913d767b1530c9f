"""The trading API over a paper account: balance, positions, orders, cancel; roles; exchange failures."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from django.test import Client

from apps.exchanges import hooks, selectors
from apps.exchanges.adapters.base import OrderRequest, OrderType, ProtectionKind, ProtectiveOrderRequest, Side
from apps.exchanges.adapters.errors import AuthenticationFailed, ExchangeUnavailable
from apps.exchanges.adapters.paper import PaperAdapter
from apps.exchanges.models import PaperOrder
from apps.exchanges.tasks import process_paper_orders
from tests.exchanges.paper.helpers import SYMBOL, flat, paper_account, release, store_bars
from tests.factories import ExchangeAccountFactory

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def market(amount: str, cid: str, side: Side = Side.BUY) -> OrderRequest:
    return OrderRequest(symbol=SYMBOL, side=side, type=OrderType.MARKET, amount=D(amount), client_order_id=cid)


def limit(amount: str, price: str, cid: str) -> OrderRequest:
    return OrderRequest(
        symbol=SYMBOL, side=Side.BUY, type=OrderType.LIMIT, amount=D(amount), price=D(price), client_order_id=cid
    )


@pytest.fixture
def trading():
    """A paper account with a 0.01 BTC long (market buy at 20000 + 2 bps) and one resting limit buy."""
    _, feed = store_bars([flat(20000), flat(20000), flat(20000)])
    account = paper_account()
    adapter = PaperAdapter(account)
    adapter.create_order(market("0.01", "entry"))
    resting = adapter.create_order(limit("0.01", "19000", "rest"))
    return account, adapter, feed, resting


def test_balance_as_decimal_strings(viewer, trading) -> None:
    account, *_ = trading
    response = logged_in(viewer).get(f"/api/v1/exchanges/{account.pk}/balance")
    assert response.status_code == 200
    [usdt] = response.json()
    assert usdt["currency"] == "USDT"
    assert isinstance(usdt["total"], str) and isinstance(usdt["free"], str)
    assert D(usdt["total"]) == D("9999.919984")  # 10000 − the taker fee 0.01 × 20004 × 0.0004


def test_positions_of_one_account(viewer, trading) -> None:
    account, *_ = trading
    body = logged_in(viewer).get("/api/v1/positions", {"account": account.pk}).json()
    assert body["errors"] == []
    [position] = body["positions"]
    assert position["account_id"] == account.pk
    assert position["symbol"] == SYMBOL and position["side"] == "long"
    assert D(position["amount"]) == D("0.01") and D(position["entry_price"]) == D("20004")
    assert D(position["mark_price"]) == D("20000") and D(position["unrealized_pnl"]) == D("-0.04")
    assert position["leverage"] == 1 and position["liquidation_price"] is not None
    empty = logged_in(viewer).get("/api/v1/positions", {"account": account.pk, "symbol": "ETH/USDT:USDT"}).json()
    assert empty["positions"] == []


def test_positions_of_all_accounts_report_a_failing_exchange(viewer, trading, monkeypatch) -> None:
    account, *_ = trading
    broken = paper_account(name="broken")
    real = selectors.adapter_for_account

    def adapter_for_account(target):
        if target.pk == broken.pk:
            raise ExchangeUnavailable("connection refused")
        return real(target)

    monkeypatch.setattr(selectors, "adapter_for_account", adapter_for_account)
    body = logged_in(viewer).get("/api/v1/positions").json()
    assert [p["account"] for p in body["positions"]] == [account.name]
    assert body["errors"] == [
        {"account_id": broken.pk, "account": "broken", "error": "ExchangeUnavailable", "detail": "connection refused"}
    ]


def test_orders_newest_first_with_filters_and_pagination(viewer, trading) -> None:
    account, adapter, _, resting = trading
    client = logged_in(viewer)
    body = client.get("/api/v1/orders", {"account": account.pk}).json()
    assert body["count"] == 2
    assert [o["client_order_id"] for o in body["items"]] == ["rest", "entry"]
    assert [o["status"] for o in body["items"]] == ["open", "closed"]
    assert D(body["items"][0]["price"]) == D("19000")

    opened = client.get("/api/v1/orders", {"account": account.pk, "status": "open"}).json()
    assert [o["id"] for o in opened["items"]] == [resting.id]
    page = client.get("/api/v1/orders", {"account": account.pk, "limit": 1, "offset": 1}).json()
    assert page["count"] == 2 and [o["client_order_id"] for o in page["items"]] == ["entry"]
    other = client.get("/api/v1/orders", {"account": account.pk, "symbol": "ETH/USDT:USDT"}).json()
    assert other["count"] == 0

    adapter.create_protective_order(
        ProtectiveOrderRequest(
            symbol=SYMBOL,
            side=Side.SELL,
            kind=ProtectionKind.STOP_LOSS,
            amount=D("0.01"),
            trigger_price=D("19500"),
            client_order_id="sl",
        )
    )
    protective = client.get("/api/v1/orders", {"account": account.pk, "protective": True}).json()
    assert [o["client_order_id"] for o in protective["items"]] == ["sl"]
    assert client.get("/api/v1/orders", {"account": 999999}).status_code == 404


def test_cancel_an_open_limit_order_needs_the_operator_role(operator, viewer, trading) -> None:
    account, _, _, resting = trading
    url = f"/api/v1/orders/{account.pk}/{resting.id}/cancel"
    assert Client().post(url).status_code == 401
    assert logged_in(viewer).post(url).status_code == 403
    assert PaperOrder.objects.get(pk=resting.id).status == "open"

    response = logged_in(operator).post(url)
    assert response.status_code == 200
    assert response.json()["status"] == "canceled"
    assert PaperOrder.objects.get(pk=resting.id).status == "canceled"


def test_cancel_of_an_unknown_order_is_404(operator, trading) -> None:
    account, *_ = trading
    client = logged_in(operator)
    assert client.post(f"/api/v1/orders/{account.pk}/999999/cancel").status_code == 404
    assert client.post(f"/api/v1/orders/{account.pk}/not-a-number/cancel").status_code == 404
    other = paper_account(name="other")
    _, _, _, resting = trading
    assert client.post(f"/api/v1/orders/{other.pk}/{resting.id}/cancel").status_code == 404


def test_a_cancel_refused_by_a_guard_answers_409_and_leaves_the_order_open(operator, trading, cancel_refused) -> None:
    account, _, _, resting = trading
    response = logged_in(operator).post(f"/api/v1/orders/{account.pk}/{resting.id}/cancel")
    assert response.status_code == 409
    assert response.json()["detail"] == cancel_refused
    assert PaperOrder.objects.get(pk=resting.id).status == "open"


def test_anonymous_and_roleless_users_are_refused(outsider, trading) -> None:
    account, *_ = trading
    assert Client().get(f"/api/v1/exchanges/{account.pk}/balance").status_code == 401
    assert logged_in(outsider).get("/api/v1/orders", {"account": account.pk}).status_code == 403


@pytest.mark.parametrize(
    ("error", "status"), [(ExchangeUnavailable("timed out"), 503), (AuthenticationFailed("invalid API key"), 502)]
)
def test_exchange_failures_answer_502_or_503_with_the_reason(viewer, trading, monkeypatch, error, status) -> None:
    account, *_ = trading

    class Down:
        def __getattr__(self, name):
            def fail(*args, **kwargs):
                raise error

            return fail

    monkeypatch.setattr(selectors, "adapter_for_account", lambda account: Down())
    client = logged_in(viewer)
    for response in (
        client.get(f"/api/v1/exchanges/{account.pk}/balance"),
        client.get("/api/v1/positions", {"account": account.pk}),
    ):
        assert response.status_code == status
        assert str(error) in response.json()["detail"]


def test_the_task_fills_a_paper_stop_loss_on_a_new_candle() -> None:
    # Bar 1 is the candle the position opened in; bar 2 falls through the stop.
    _, feed = store_bars([flat(20000), flat(20000), (20000, 20010, 19000, 19100)])
    adapter = PaperAdapter(paper_account())
    adapter.create_order(market("0.01", "entry"))
    sl = adapter.create_protective_order(
        ProtectiveOrderRequest(
            symbol=SYMBOL,
            side=Side.SELL,
            kind=ProtectionKind.STOP_LOSS,
            amount=D("0.01"),
            trigger_price=D("19500"),
            client_order_id="sl",
        )
    )
    release(feed, 2)
    assert process_paper_orders() == "1 paper orders filled or expired; 0 paper plans advanced"
    assert PaperOrder.objects.get(pk=sl.id).status == "closed"
    assert adapter.fetch_positions() == []
    assert process_paper_orders() == "0 paper orders filled or expired; 0 paper plans advanced"


def test_the_paper_task_tells_each_listener_once_about_the_paper_accounts(monkeypatch) -> None:
    listeners: hooks.Hook[hooks.PaperOrdersListener] = hooks.Hook()
    monkeypatch.setattr(hooks, "paper_orders_processed", listeners)
    paper = paper_account()
    ExchangeAccountFactory(mode="live")
    told: list[list[str]] = []

    def listener(accounts) -> str:
        told.append([account.name for account in accounts])
        return "2 plans advanced"

    listeners.register(listener)
    listeners.register(listener)  # a second AppConfig.ready() adds nothing
    assert process_paper_orders() == "0 paper orders filled or expired; 2 plans advanced"
    assert told == [[paper.name]]
