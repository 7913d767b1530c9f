"""Gate finds a plain order by its text only for 60 s after the order finished (then only by id); the
adapter's lookup by client order id must still find it, by scanning the recently finished orders."""

from __future__ import annotations

from decimal import Decimal

import ccxt
import pytest

from apps.exchanges.adapters.base import OrderRequest, OrderStatus, OrderType, Side
from apps.exchanges.adapters.ccxt_adapter import CcxtAdapter
from apps.exchanges.emulator import ExchangeEmulator
from tests.exchanges.adapters.conftest import SYMBOL

pytestmark = pytest.mark.parametrize("emulator", ["gate"], indirect=True)
WINDOW_MS = 60_000


def age(emulator: ExchangeEmulator, text: str, ms: int) -> None:
    """Move the order's finish time `ms` into the past (the emulator's clock also signs requests, so the
    order gets older instead of the clock getting later)."""
    with emulator.lock:
        [order] = [o for o in emulator.engine.orders.values() if o.client_id == text]
        order.finished_ms -= ms


def test_a_finished_order_is_found_after_the_text_lookup_window(
    emulator: ExchangeEmulator, adapter: CcxtAdapter
) -> None:
    emulator.set_price(SYMBOL, "30000")
    adapter.create_order(OrderRequest(SYMBOL, Side.BUY, OrderType.MARKET, Decimal("0.02"), "to-7-en1"))
    age(emulator, "t-to-7-en1", WINDOW_MS + 1000)
    # The emulator models Gate: by text the order is gone...
    with pytest.raises(ccxt.OrderNotFound):
        adapter.client.fetch_order(None, SYMBOL, {"clientOrderId": "t-to-7-en1"})
    # ...but the adapter still finds it among the finished orders, with its fill.
    found = adapter.fetch_order_by_client_id(SYMBOL, "to-7-en1")
    assert found is not None
    assert found.client_order_id == "to-7-en1" and found.status is OrderStatus.CLOSED
    assert found.filled == Decimal("0.02") and found.average_price == Decimal(30000)
    assert any(r.method == "GET" and "status=finished" in r.query for r in emulator.requests)


def test_within_the_window_the_direct_lookup_answers(emulator: ExchangeEmulator, adapter: CcxtAdapter) -> None:
    emulator.set_price(SYMBOL, "30000")
    adapter.create_order(OrderRequest(SYMBOL, Side.BUY, OrderType.MARKET, Decimal("0.02"), "to-8-en1"))
    emulator.requests.clear()
    found = adapter.fetch_order_by_client_id(SYMBOL, "to-8-en1")
    assert found is not None and found.status is OrderStatus.CLOSED
    assert [r.path for r in emulator.requests] == ["/api/v4/futures/usdt/orders/t-to-8-en1"]


def test_an_order_the_exchange_never_saw_is_still_none(emulator: ExchangeEmulator, adapter: CcxtAdapter) -> None:
    emulator.set_price(SYMBOL, "30000")
    adapter.create_order(OrderRequest(SYMBOL, Side.BUY, OrderType.MARKET, Decimal("0.02"), "to-9-en1"))
    age(emulator, "t-to-9-en1", WINDOW_MS + 1000)
    assert adapter.fetch_order_by_client_id(SYMBOL, "to-9-ex1") is None
    assert adapter.fetch_order_by_client_id(SYMBOL, "to-10-en1") is None
