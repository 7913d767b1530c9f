"""Binance spot at the ccxt request level: ccxt's `fetch` is replaced by a recorder and the exact signed
requests the adapter makes are checked (order-type mapping: market, limit, STOP_LOSS_LIMIT, TAKE_PROFIT_LIMIT;
rounding, client ids, spot refusals). Responses, balances and fills are covered against the emulator's spot
dialect in test_spot_emulator.py."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from apps.exchanges.adapters import errors
from apps.exchanges.adapters.base import (
    OrderRequest,
    OrderType,
    ProtectionKind,
    ProtectiveOrderRequest,
    Side,
)
from apps.exchanges.adapters.ccxt_adapter import CcxtAdapter

D = Decimal
SPOT = "BTC/USDT"
MARKET = {
    "id": "BTCUSDT",
    "symbol": SPOT,
    "base": "BTC",
    "quote": "USDT",
    "baseId": "BTC",
    "quoteId": "USDT",
    "type": "spot",
    "spot": True,
    "margin": False,
    "swap": False,
    "future": False,
    "option": False,
    "contract": False,
    "active": True,
    "linear": None,
    "inverse": None,
    "contractSize": None,
    "precision": {"amount": 0.00001, "price": 0.01},
    "limits": {"amount": {"min": 0.00001, "max": 9000}, "cost": {"min": 5}, "price": {}, "leverage": {}},
    "info": {"orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"]},
}


@pytest.fixture
def spot() -> tuple[CcxtAdapter, list[dict[str, Any]]]:
    adapter = CcxtAdapter("binance", api_key="spot-key", secret="spot-secret", enable_rate_limit=False)
    sent: list[dict[str, Any]] = []

    def record(url: str, method: str = "GET", headers: Any = None, body: Any = None) -> dict[str, Any]:
        query = parse_qs(urlparse(url).query) if "?" in url else {}
        query.update(parse_qs(body or ""))
        sent.append({"url": url, "method": method, "params": {k: v[0] for k, v in query.items()}})
        return {
            "symbol": "BTCUSDT",
            "orderId": 1,
            "clientOrderId": query.get("newClientOrderId", [""])[0],
            "status": "NEW",
            "side": query.get("side", ["BUY"])[0],
            "type": query.get("type", ["LIMIT"])[0],
            "origQty": query.get("quantity", ["0"])[0],
            "executedQty": "0",
            "price": "0",
        }

    adapter.client.fetch = record  # type: ignore[method-assign]
    adapter.client.set_markets([MARKET])
    adapter._rules = {SPOT: adapter._market_rules(adapter.client.markets[SPOT])}
    return adapter, sent


def test_spot_rules(spot: tuple[CcxtAdapter, list]) -> None:
    rules = spot[0].rules(SPOT)
    assert (rules.type, rules.tick, rules.step, rules.min_notional) == ("spot", D("0.01"), D("0.00001"), D(5))


def test_spot_limit_and_stop_limit_requests(spot: tuple[CcxtAdapter, list]) -> None:
    adapter, sent = spot
    adapter.create_order(OrderRequest(SPOT, Side.BUY, OrderType.LIMIT, D("0.0012345"), "s-entry", price=D("30000.129")))
    entry = sent[-1]["params"]
    assert sent[-1]["url"].endswith("/order") and sent[-1]["method"] == "POST"
    assert (entry["type"], entry["quantity"], entry["price"]) == ("LIMIT", "0.00123", "30000.12")
    assert entry["newClientOrderId"] == "s-entry" and "signature" in entry and "reduceOnly" not in entry

    stop = adapter.create_protective_order(
        ProtectiveOrderRequest(
            SPOT, Side.SELL, ProtectionKind.STOP_LOSS, D("0.00123"), D("29000.001"), "s-sl", limit_price=D("28900")
        )
    )
    params = sent[-1]["params"]
    assert (params["type"], params["stopPrice"], params["price"]) == ("STOP_LOSS_LIMIT", "29000.01", "28900")
    assert params["side"] == "SELL" and params["newClientOrderId"] == "s-sl"
    assert stop.protective and stop.type == "stop_limit"

    adapter.create_protective_order(
        ProtectiveOrderRequest(SPOT, Side.SELL, ProtectionKind.TAKE_PROFIT, D("0.00123"), D("32000"), "s-tp")
    )
    params = sent[-1]["params"]
    assert (params["type"], params["stopPrice"], params["price"]) == ("TAKE_PROFIT_LIMIT", "32000", "32000")


def test_spot_refusals_send_nothing(spot: tuple[CcxtAdapter, list]) -> None:
    adapter, sent = spot
    with pytest.raises(errors.InvalidOrder, match="reduce-only"):
        adapter.create_order(OrderRequest(SPOT, Side.SELL, OrderType.MARKET, D("0.001"), "r", reduce_only=True))
    with pytest.raises(errors.InvalidOrder, match="limit_price"):
        adapter.create_protective_order(
            ProtectiveOrderRequest(SPOT, Side.SELL, ProtectionKind.STOP_LOSS, D("0.001"), D("29000"), "no-limit")
        )
    with pytest.raises(errors.InvalidOrder, match="notional"):
        adapter.create_order(OrderRequest(SPOT, Side.BUY, OrderType.LIMIT, D("0.0001"), "small", price=D("30000")))
    with pytest.raises(errors.InvalidOrder):
        adapter.set_leverage(SPOT, 2)
    assert sent == []
