"""Orders, positions and account state through the real ccxt client, on both exchanges."""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal

import ccxt
import pytest

from apps.exchanges.emulator import ExchangeEmulator
from tests.exchanges.emulator.conftest import SYMBOL, Venue


def _position(client: ccxt.Exchange, symbol: str = SYMBOL) -> dict | None:
    return next((p for p in client.fetch_positions([symbol]) if p["contracts"]), None)


def test_market_order_opens_a_position(emulator: ExchangeEmulator, client: ccxt.Exchange, venue: Venue) -> None:
    emulator.set_price(SYMBOL, "30000")
    order = client.create_order(SYMBOL, "market", "buy", venue.amount("0.01"), None, {"clientOrderId": "entry-1"})
    assert order["status"] == "closed"
    assert order["filled"] == order["amount"] == venue.amount("0.01")
    assert order["average"] == 30000
    assert order["clientOrderId"] == venue.cid("entry-1")

    emulator.set_price(SYMBOL, "30500")
    position = _position(client)
    assert position is not None
    assert position["side"] == "long"
    assert position["contracts"] == venue.amount("0.01")
    assert position["entryPrice"] == 30000
    assert position["unrealizedPnl"] == pytest.approx(5.0)  # 0.01 BTC * 500
    assert position["markPrice"] == 30500

    balance = client.fetch_balance()["USDT"]
    taker_fee = 0.01 * 30000 * 0.0005
    assert balance["total"] == pytest.approx(10000 - taker_fee + (5.0 if venue.exchange == "binanceusdm" else 0))


def test_short_then_flip_realises_pnl(emulator: ExchangeEmulator, client: ccxt.Exchange, venue: Venue) -> None:
    emulator.set_price(SYMBOL, "30000")
    client.create_order(SYMBOL, "market", "sell", venue.amount("0.01"))
    emulator.set_price(SYMBOL, "29000")
    client.create_order(SYMBOL, "market", "buy", venue.amount("0.03"))
    position = _position(client)
    assert position is not None and position["side"] == "long"
    assert position["contracts"] == venue.amount("0.02")
    assert position["entryPrice"] == 29000
    fees = (0.01 * 30000 + 0.03 * 29000) * 0.0005
    assert emulator.engine.wallet == pytest.approx(Decimal(10000 + 10 - fees))


def test_limit_order_rests_then_fills_as_maker(emulator: ExchangeEmulator, client: ccxt.Exchange, venue: Venue) -> None:
    emulator.set_price(SYMBOL, "30000")
    order = client.create_order(SYMBOL, "limit", "buy", venue.amount("0.01"), 29500, {"clientOrderId": "lim-1"})
    assert order["status"] == "open" and order["filled"] == 0
    assert [o["id"] for o in client.fetch_open_orders(SYMBOL)] == [order["id"]]
    emulator.set_price(SYMBOL, "29800")
    assert client.fetch_order(order["id"], SYMBOL)["status"] == "open"
    emulator.set_price(SYMBOL, "29400")
    filled = client.fetch_order(order["id"], SYMBOL)
    assert filled["status"] == "closed"
    assert filled["average"] == 29500  # a resting order fills at its own price
    trade = client.fetch_my_trades(SYMBOL)[-1]
    assert trade["takerOrMaker"] == "maker" if venue.exchange == "binanceusdm" else trade["info"]["role"] == "maker"
    assert client.fetch_open_orders(SYMBOL) == []


def test_marketable_limit_fills_at_the_market_price(
    emulator: ExchangeEmulator, client: ccxt.Exchange, venue: Venue
) -> None:
    emulator.set_price(SYMBOL, "30000")
    order = client.create_order(SYMBOL, "limit", "buy", venue.amount("0.01"), 30100)
    assert order["status"] == "closed" and order["average"] == 30000


def test_reduce_only_closes_part_of_the_position(
    emulator: ExchangeEmulator, client: ccxt.Exchange, venue: Venue
) -> None:
    emulator.set_price(SYMBOL, "30000")
    client.create_order(SYMBOL, "market", "buy", venue.amount("0.02"))
    order = client.create_order(SYMBOL, "market", "sell", venue.amount("0.01"), None, {"reduceOnly": True})
    assert order["reduceOnly"] is True and order["status"] == "closed"
    position = _position(client)
    assert position is not None and position["contracts"] == venue.amount("0.01")


def test_reduce_only_that_would_increase_is_rejected(client: ccxt.Exchange, venue: Venue) -> None:
    client.create_order(SYMBOL, "market", "buy", venue.amount("0.01"))
    with pytest.raises(ccxt.InvalidOrder):
        client.create_order(SYMBOL, "market", "buy", venue.amount("0.01"), None, {"reduceOnly": True})


def test_reduce_only_without_a_position_is_rejected(client: ccxt.Exchange, venue: Venue) -> None:
    # Binance: -2022 (InvalidOrder). Gate: REDUCE_EXCEEDED "empty position", which ccxt maps to ExchangeError.
    expected = ccxt.ExchangeError if venue.is_gate else ccxt.InvalidOrder
    with pytest.raises(expected, match="REDUCE_EXCEEDED" if venue.is_gate else "-2022"):
        client.create_order(SYMBOL, "market", "sell", venue.amount("0.01"), None, {"reduceOnly": True})


def _protect(client: ccxt.Exchange, venue: Venue, sl: float, tp: float, qty: str = "0.01") -> tuple[dict, dict]:
    amount = venue.amount(qty)
    stop = client.create_order(
        SYMBOL,
        "market",
        "sell",
        amount,
        None,
        {"stopLossPrice": sl, "reduceOnly": True, "clientOrderId": venue.cid("sl-1")},
    )
    take = client.create_order(
        SYMBOL,
        "market",
        "sell",
        amount,
        None,
        {"takeProfitPrice": tp, "reduceOnly": True, "clientOrderId": venue.cid("tp-1")},
    )
    return stop, take


def test_stop_loss_and_take_profit_are_separate_reduce_only_orders(
    emulator: ExchangeEmulator, client: ccxt.Exchange, venue: Venue
) -> None:
    emulator.set_price(SYMBOL, "30000")
    client.create_order(SYMBOL, "market", "buy", venue.amount("0.01"))
    _protect(client, venue, 29000, 31000)
    triggers = {o["clientOrderId"]: o for o in client.fetch_open_orders(SYMBOL, params={"trigger": True})}
    assert set(triggers) == {venue.cid("sl-1"), venue.cid("tp-1")}
    assert triggers[venue.cid("sl-1")]["triggerPrice"] == 29000
    assert triggers[venue.cid("tp-1")]["triggerPrice"] == 31000
    assert all(o["reduceOnly"] and o["side"] == "sell" and o["status"] == "open" for o in triggers.values())
    assert client.fetch_open_orders(SYMBOL) == []  # conditional orders are not regular open orders


def test_stop_loss_triggers_and_closes_the_position(
    emulator: ExchangeEmulator, client: ccxt.Exchange, venue: Venue
) -> None:
    emulator.set_price(SYMBOL, "30000")
    client.create_order(SYMBOL, "market", "buy", venue.amount("0.01"))
    stop, take = _protect(client, venue, 29000, 31000)
    emulator.set_price(SYMBOL, "28900")  # a tick through the level: fills at the new price
    assert _position(client) is None
    stop_now = client.fetch_order(stop["id"], SYMBOL, {"trigger": True})
    assert stop_now["status"] == "closed"
    child_id = stop_now["info"]["me_order_id"] if venue.is_gate else stop_now["info"]["actualOrderId"]
    child = client.fetch_order(child_id, SYMBOL)
    assert child["status"] == "closed" and child["average"] == 28900 and child["reduceOnly"]
    # The take-profit stays until someone cancels it, as on the real exchanges.
    remaining = client.fetch_open_orders(SYMBOL, params={"trigger": True})
    assert [o["id"] for o in remaining] == [take["id"]]


def test_gap_through_the_stop_fills_at_the_candle_open(scripted: Callable) -> None:
    emulator, client, venue = scripted(("30000", "30050", "29950", "30000"), ("28000", "28100", "27900", "28050"))
    client.create_order(SYMBOL, "market", "buy", venue.amount("0.01"))
    _protect(client, venue, 29000, 31000)
    emulator.advance()  # an ordinary candle above the stop
    assert _position(client) is not None
    emulator.advance()  # opens at 28000, below the 29000 stop
    assert _position(client) is None
    fill = client.fetch_my_trades(SYMBOL)[-1]
    assert fill["price"] == 28000 and fill["side"] == "sell"


def test_stop_loss_wins_when_both_levels_are_inside_one_candle(scripted: Callable) -> None:
    emulator, client, venue = scripted(("30000", "31200", "28800", "30100"))
    client.create_order(SYMBOL, "market", "buy", venue.amount("0.01"))
    stop, take = _protect(client, venue, 29000, 31000)
    emulator.advance()
    fills = client.fetch_my_trades(SYMBOL)
    assert [(f["side"], f["price"]) for f in fills] == [("buy", 30000), ("sell", 29000)]
    assert client.fetch_order(stop["id"], SYMBOL, {"trigger": True})["status"] == "closed"
    # The take-profit triggered too, found nothing to reduce and was cancelled by the exchange.
    assert client.fetch_order(take["id"], SYMBOL, {"trigger": True})["status"] == "canceled"
    assert _position(client) is None


def test_take_profit_triggers_on_a_candle_high(scripted: Callable) -> None:
    emulator, client, venue = scripted(("30000", "31050", "29950", "30900"))
    client.create_order(SYMBOL, "market", "buy", venue.amount("0.01"))
    stop, _ = _protect(client, venue, 29000, 31000)
    emulator.advance()
    assert client.fetch_my_trades(SYMBOL)[-1]["price"] == 31000
    assert client.fetch_order(stop["id"], SYMBOL, {"trigger": True})["status"] == "open"


def test_stop_that_would_trigger_immediately_is_rejected(
    emulator: ExchangeEmulator, client: ccxt.Exchange, venue: Venue
) -> None:
    emulator.set_price(SYMBOL, "30000")
    client.create_order(SYMBOL, "market", "buy", venue.amount("0.01"))
    with pytest.raises(ccxt.InvalidOrder):  # Binance -2021 OrderImmediatelyFillable; Gate AUTO_TRIGGER_PRICE_*
        client.create_order(
            SYMBOL, "market", "sell", venue.amount("0.01"), None, {"stopLossPrice": 30500, "reduceOnly": True}
        )


def test_cancel_regular_and_conditional_orders(emulator: ExchangeEmulator, client: ccxt.Exchange, venue: Venue) -> None:
    emulator.set_price(SYMBOL, "30000")
    client.create_order(SYMBOL, "market", "buy", venue.amount("0.01"))
    limit = client.create_order(SYMBOL, "limit", "buy", venue.amount("0.01"), 29000)
    stop, take = _protect(client, venue, 29000, 31000)
    assert client.cancel_order(limit["id"], SYMBOL)["id"] == limit["id"]
    assert client.fetch_order(limit["id"], SYMBOL)["status"] == "canceled"
    client.cancel_order(stop["id"], SYMBOL, {"trigger": True})
    assert client.fetch_order(stop["id"], SYMBOL, {"trigger": True})["status"] == "canceled"
    assert [o["id"] for o in client.fetch_open_orders(SYMBOL, params={"trigger": True})] == [take["id"]]
    with pytest.raises(ccxt.OrderNotFound if not venue.is_gate else ccxt.ExchangeError):
        client.cancel_order(limit["id"], SYMBOL)  # Binance -2011; Gate ORDER_FINISHED


def test_cancel_unknown_order(client: ccxt.Exchange, venue: Venue) -> None:
    with pytest.raises(ccxt.OrderNotFound):
        client.cancel_order("4999999999", SYMBOL)
    with pytest.raises(ccxt.OrderNotFound):
        client.fetch_order("4999999999", SYMBOL)


def test_fetch_order_by_client_order_id(emulator: ExchangeEmulator, client: ccxt.Exchange, venue: Venue) -> None:
    emulator.set_price(SYMBOL, "30000")
    client.create_order(SYMBOL, "market", "buy", venue.amount("0.01"), None, {"clientOrderId": "plan-7-entry"})
    limit = client.create_order(SYMBOL, "limit", "buy", venue.amount("0.01"), 29000, {"clientOrderId": "plan-7-add"})
    found = client.fetch_order(None, SYMBOL, {"clientOrderId": "plan-7-add"})
    assert found["id"] == limit["id"] and found["clientOrderId"] == venue.cid("plan-7-add")
    entry = client.fetch_order(None, SYMBOL, {"clientOrderId": "plan-7-entry"})
    assert entry["status"] == "closed" and entry["filled"] == venue.amount("0.01")
    stop, _ = _protect(client, venue, 29000, 31000)
    if venue.is_gate:
        # Gate looks price orders up by numeric id only; the text is on the order.
        assert client.fetch_order(stop["id"], SYMBOL, {"trigger": True})["clientOrderId"] == "t-sl-1"
    else:
        assert client.fetch_order(None, SYMBOL, {"clientOrderId": "sl-1", "trigger": True})["id"] == stop["id"]


def test_gate_text_lookup_expires_sixty_seconds_after_the_order_finished(
    emulator_factory: Callable[..., ExchangeEmulator],
) -> None:
    skew = [0.0]
    emulator = emulator_factory("gate", clock=lambda: time.time() + skew[0])
    client = emulator.ccxt_client()
    client.load_markets()
    client.create_order(SYMBOL, "market", "buy", 100, None, {"clientOrderId": "late"})
    assert client.fetch_order(None, SYMBOL, {"clientOrderId": "late"})["status"] == "closed"
    skew[0] = 61
    client.options["timeDifference"] = -61_000  # keep the client's Timestamp header in step with the server
    with pytest.raises(ccxt.OrderNotFound):
        client.fetch_order(None, SYMBOL, {"clientOrderId": "late"})


def test_positions_report_entry_size_and_unrealised_pnl_for_a_short(
    emulator: ExchangeEmulator, client: ccxt.Exchange, venue: Venue
) -> None:
    emulator.set_price("ETH/USDT:USDT", "1800")
    amount = 0.5 if not venue.is_gate else 50  # ETH contracts on Gate are 0.01 ETH
    client.create_order("ETH/USDT:USDT", "market", "sell", amount)
    emulator.set_price("ETH/USDT:USDT", "1750")
    position = _position(client, "ETH/USDT:USDT")
    assert position is not None
    assert position["side"] == "short"
    assert position["entryPrice"] == 1800
    assert position["unrealizedPnl"] == pytest.approx(25.0)
    assert position["notional"] == pytest.approx(875.0)


def test_set_leverage(emulator: ExchangeEmulator, client: ccxt.Exchange, venue: Venue) -> None:
    client.set_leverage(7, SYMBOL)
    assert emulator.engine.position(SYMBOL).leverage == 7
    client.create_order(SYMBOL, "market", "buy", venue.amount("0.01"))
    position = _position(client)
    assert position is not None
    if venue.is_gate:
        assert position["leverage"] == 7 and position["marginMode"] == "isolated"  # Gate: leverage > 0 is isolated
    else:
        assert position["initialMargin"] == pytest.approx(position["notional"] / 7, rel=1e-6)


def test_leverage_above_the_bracket_maximum_is_rejected(client: ccxt.Exchange, venue: Venue) -> None:
    if venue.is_gate:
        # ccxt refuses > 100 itself, so go through the raw endpoint: BTC_USDT allows 125x, not 150x.
        with pytest.raises(ccxt.InvalidOrder, match="LEVERAGE_TOO_HIGH"):
            client.privateFuturesPostSettlePositionsContractLeverage(
                {"settle": "usdt", "contract": "BTC_USDT", "leverage": "150"}
            )
    else:
        # ccxt refuses > 125 itself; ask the server directly.
        with pytest.raises(ccxt.BadRequest, match="-4028"):
            client.fapiPrivatePostLeverage({"symbol": "BTCUSDT", "leverage": 130})


def test_set_margin_mode(emulator: ExchangeEmulator, client: ccxt.Exchange, venue: Venue) -> None:
    if venue.is_gate:
        # Gate has no margin-mode endpoint in ccxt: leverage 0 + cross_leverage_limit means cross.
        client.set_leverage(5, SYMBOL, {"marginMode": "cross"})
        assert emulator.engine.position(SYMBOL).margin_mode == "cross"
        client.set_leverage(5, SYMBOL, {"marginMode": "isolated"})
        assert emulator.engine.position(SYMBOL).margin_mode == "isolated"
        return
    client.set_margin_mode("isolated", SYMBOL)
    assert emulator.engine.position(SYMBOL).margin_mode == "isolated"
    with pytest.raises(ccxt.MarginModeAlreadySet):  # -4046; ccxt raises it unless told not to
        client.set_margin_mode("isolated", SYMBOL)
    client.create_order(SYMBOL, "market", "buy", 0.01)
    assert _position(client)["marginMode"] == "isolated"
    with pytest.raises(ccxt.ExchangeError, match="-4048"):
        client.set_margin_mode("cross", SYMBOL)


def test_insufficient_margin_maps_to_insufficient_funds(client: ccxt.Exchange, venue: Venue) -> None:
    with pytest.raises(ccxt.InsufficientFunds):
        client.create_order(SYMBOL, "market", "buy", venue.amount("8"))  # ~224k notional on a 10k wallet


def test_position_above_the_bracket_for_the_leverage_is_rejected(
    emulator: ExchangeEmulator, client: ccxt.Exchange, venue: Venue
) -> None:
    emulator.set_price(SYMBOL, "30000")
    if venue.is_gate:
        client.privateFuturesPostSettlePositionsContractLeverage(
            {"settle": "usdt", "contract": "BTC_USDT", "leverage": "125"}
        )
    else:
        client.set_leverage(125, SYMBOL)
    # 125x allows at most 50,000 USDT notional in the first bracket.
    expected = ccxt.ExchangeError if venue.is_gate else ccxt.OperationRejected
    with pytest.raises(expected, match="RISK_LIMIT_EXCEEDED" if venue.is_gate else "-2027"):
        client.create_order(SYMBOL, "market", "buy", venue.amount("2"))


@pytest.mark.parametrize("emulator", ["binanceusdm"], indirect=True)
def test_binance_trading_rules_with_exchange_codes(emulator: ExchangeEmulator, client: ccxt.Exchange) -> None:
    emulator.set_price(SYMBOL, "30000")
    base = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}
    cases = [
        ({"quantity": "0.010", "price": "29000.05"}, ccxt.BadRequest, "-4014"),  # tick size 0.10
        ({"quantity": "0.0105", "price": "29000"}, ccxt.BadRequest, "-1111"),  # step 0.001
        ({"quantity": "0.002", "price": "29000"}, ccxt.InvalidOrder, "-4164"),  # notional 58 < 100
        ({"quantity": "2000", "price": "29000"}, ccxt.BadRequest, "-4005"),  # above maxQty
    ]
    for extra, error, code in cases:
        with pytest.raises(error, match=code):
            client.fapiPrivatePostOrder({**base, **extra})
    with pytest.raises(ccxt.InvalidOrder, match="-4120"):  # conditional types live on the algo endpoints now
        client.fapiPrivatePostOrder({**base, "type": "STOP_MARKET", "stopPrice": "29000", "quantity": "0.01"})
    with pytest.raises(ccxt.InvalidOrder, match="-4164"):
        client.create_order(SYMBOL, "market", "buy", 0.003)


@pytest.mark.parametrize("emulator", ["gate"], indirect=True)
def test_gate_trading_rules_with_exchange_labels(emulator: ExchangeEmulator, client: ccxt.Exchange) -> None:
    emulator.set_price(SYMBOL, "30000")
    order = {"settle": "usdt", "contract": "BTC_USDT", "tif": "gtc"}
    with pytest.raises(ccxt.BadRequest, match="order_price_round"):
        client.privateFuturesPostSettleOrders({**order, "size": 1, "price": "29000.05"})
    with pytest.raises(ccxt.BadRequest, match="size"):
        client.privateFuturesPostSettleOrders({**order, "size": "1.5", "price": "29000"})
    with pytest.raises(ccxt.InvalidOrder, match="SIZE_TOO_LARGE"):
        client.privateFuturesPostSettleOrders({**order, "size": 2_000_000, "price": "29000"})
    with pytest.raises(ccxt.BadRequest, match="text"):
        client.privateFuturesPostSettleOrders({**order, "size": 1, "price": "29000", "text": "no-prefix"})


@pytest.mark.parametrize("emulator", ["binanceusdm"], indirect=True)
def test_binance_client_order_id_is_unique_among_open_orders_only(client: ccxt.Exchange) -> None:
    client.create_order(SYMBOL, "limit", "buy", 0.01, 20000, {"clientOrderId": "dup"})
    with pytest.raises(ccxt.InvalidOrder, match="-4116"):
        client.create_order(SYMBOL, "limit", "buy", 0.01, 20000, {"clientOrderId": "dup"})
    client.create_order(SYMBOL, "market", "buy", 0.01, None, {"clientOrderId": "filled-once"})
    # Binance accepts a finished order's id again: a blind retry after a lost response doubles the position.
    client.create_order(SYMBOL, "market", "buy", 0.01, None, {"clientOrderId": "filled-once"})


@pytest.mark.parametrize("emulator", ["binanceusdm"], indirect=True)
def test_binance_close_position_stop_closes_whatever_is_open(emulator: ExchangeEmulator, client: ccxt.Exchange) -> None:
    emulator.set_price(SYMBOL, "30000")
    client.create_order(SYMBOL, "market", "buy", 0.02)
    stop = client.create_order(SYMBOL, "market", "sell", None, None, {"stopLossPrice": 29000, "closePosition": True})
    assert stop["info"]["closePosition"] is True
    client.create_order(SYMBOL, "market", "buy", 0.01)
    emulator.set_price(SYMBOL, "28950")
    assert _position(client) is None
    assert client.fetch_my_trades(SYMBOL)[-1]["amount"] == 0.03


@pytest.mark.parametrize("emulator", ["gate"], indirect=True)
def test_gate_close_position_order(emulator: ExchangeEmulator, client: ccxt.Exchange) -> None:
    client.create_order(SYMBOL, "market", "buy", 300)
    order = client.close_position(SYMBOL)
    assert order["info"]["is_close"] is True and order["status"] == "closed"
    assert _position(client) is None
    with pytest.raises(ccxt.InvalidOrder, match="POSITION_EMPTY"):
        client.close_position(SYMBOL)


@pytest.mark.parametrize("exchange_name", ["binanceusdm", "gate"])
def test_configurable_fees_and_slippage(exchange_name: str, emulator_factory: Callable[..., ExchangeEmulator]) -> None:
    emulator = emulator_factory(exchange_name, taker_fee="0.001", slippage="0.001")
    client = emulator.ccxt_client()
    client.load_markets()
    venue = Venue(exchange_name)
    emulator.set_price(SYMBOL, "30000")
    buy = client.create_order(SYMBOL, "market", "buy", venue.amount("0.01"))
    sell = client.create_order(SYMBOL, "market", "sell", venue.amount("0.01"))
    assert (buy["average"], sell["average"]) == (30030, 29970)
    fees = [t["fee"]["cost"] for t in client.fetch_my_trades(SYMBOL)]
    assert sorted(fees) == pytest.approx(sorted([0.01 * 30030 * 0.001, 0.01 * 29970 * 0.001]))


@pytest.mark.parametrize("exchange_name", ["binanceusdm", "gate"])
def test_partial_fills_when_volume_is_capped(scripted: Callable) -> None:
    emulator, client, venue = scripted(
        ("30000", "30000", "29400", "29500"),
        ("29500", "29600", "29400", "29450"),
        limit_fill_volume_fraction="0.0001",  # 100 BTC volume per candle -> 0.01 BTC per candle
    )
    order = client.create_order(SYMBOL, "limit", "buy", venue.amount("0.02"), 29500)
    emulator.advance()
    partial = client.fetch_order(order["id"], SYMBOL)
    assert partial["status"] == "open" and partial["filled"] == venue.amount("0.01")
    if not venue.is_gate:
        assert partial["info"]["status"] == "PARTIALLY_FILLED"
    emulator.advance()
    assert client.fetch_order(order["id"], SYMBOL)["status"] == "closed"
