"""Other ccxt calls an adapter is likely to make: each must parse, and none may hit an unemulated path."""

from __future__ import annotations

import ccxt
import pytest

from apps.exchanges.emulator import ExchangeEmulator
from tests.exchanges.emulator.conftest import SYMBOL, Venue


def test_order_book_funding_and_history_calls(emulator: ExchangeEmulator, client: ccxt.Exchange, venue: Venue) -> None:
    emulator.set_price(SYMBOL, "30000")
    book = client.fetch_order_book(SYMBOL, limit=5)
    assert book["bids"][0][0] < book["asks"][0][0]
    assert client.fetch_funding_rate(SYMBOL)["fundingRate"] == 0.0001
    client.create_order(SYMBOL, "market", "buy", venue.amount("0.01"))
    client.create_order(SYMBOL, "limit", "buy", venue.amount("0.01"), 25000)
    client.create_order(
        SYMBOL, "market", "sell", venue.amount("0.01"), None, {"stopLossPrice": 29000, "reduceOnly": True}
    )
    client.cancel_all_orders(SYMBOL)
    client.cancel_all_orders(SYMBOL, {"trigger": True})
    assert client.fetch_open_orders(SYMBOL) == []
    assert client.fetch_open_orders(SYMBOL, params={"trigger": True}) == []
    closed = client.fetch_closed_orders(SYMBOL)
    assert {o["status"] for o in closed} >= {"closed"}
    if not venue.is_gate:
        assert len(client.fetch_orders(SYMBOL)) == 2
        assert client.fetch_leverage_tiers([SYMBOL])[SYMBOL][0]["maxLeverage"] == 125
        assert client.fetch_position_mode(SYMBOL)["hedged"] is False
    else:
        assert client.fetch_position(SYMBOL)["contracts"] == venue.amount("0.01")
    assert len(client.fetch_my_trades(SYMBOL)) == 1
    assert emulator.unhandled == []


def test_post_only_and_fill_or_kill(emulator: ExchangeEmulator, client: ccxt.Exchange, venue: Venue) -> None:
    emulator.set_price(SYMBOL, "30000")
    with pytest.raises(ccxt.InvalidOrder):  # Binance -5022 OrderNotFillable; Gate ORDER_POC_IMMEDIATE
        client.create_order(SYMBOL, "limit", "buy", venue.amount("0.01"), 30100, {"postOnly": True})
    maker = client.create_order(SYMBOL, "limit", "buy", venue.amount("0.01"), 29900, {"postOnly": True})
    assert maker["status"] == "open" and maker["postOnly"] is True
    # Binance -5021 (OrderNotFillable); Gate ORDER_FOK, which ccxt 4.5.90 leaves a plain ExchangeError.
    with pytest.raises(ccxt.ExchangeError if venue.is_gate else ccxt.InvalidOrder, match="ORDER_FOK|-5021"):
        client.create_order(SYMBOL, "limit", "buy", venue.amount("0.01"), 29000, {"timeInForce": "FOK"})


def test_ioc_limit_that_does_not_cross_is_cancelled(
    emulator: ExchangeEmulator, client: ccxt.Exchange, venue: Venue
) -> None:
    emulator.set_price(SYMBOL, "30000")
    order = client.create_order(SYMBOL, "limit", "buy", venue.amount("0.01"), 29000, {"timeInForce": "IOC"})
    assert order["filled"] == 0
    assert order["status"] == ("canceled" if venue.is_gate else "expired")  # Gate finish_as "ioc", Binance EXPIRED
