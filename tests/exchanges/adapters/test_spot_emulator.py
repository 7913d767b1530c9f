"""CcxtAdapter('binance', ...) with the real ccxt client against the emulator's Binance spot dialect."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from apps.exchanges.adapters import errors
from apps.exchanges.adapters.base import (
    OrderRequest,
    OrderStatus,
    OrderType,
    ProtectionKind,
    ProtectiveOrderRequest,
    Side,
)
from apps.exchanges.adapters.ccxt_adapter import CcxtAdapter
from apps.exchanges.emulator import ExchangeEmulator
from tests.exchanges.adapters.conftest import make_adapter
from tests.exchanges.emulator.conftest import scripted_candles

SPOT = "BTC/USDT"
ORDER_PATH = "/api/v3/order"
D = Decimal

Spot = Callable[..., tuple[ExchangeEmulator, CcxtAdapter]]


@pytest.fixture
def spot(emulator_factory: Callable[..., ExchangeEmulator]) -> Spot:
    """A spot emulator whose BTC candles are flat at 30000 until the given (open, high, low, close) rows."""

    def start(*rows: tuple[str, str, str, str], btc: str = "0") -> tuple[ExchangeEmulator, CcxtAdapter]:
        emu = emulator_factory("binance", candles={SPOT: scripted_candles(*rows)}, history=49)
        emu.engine.balances["BTC"] = D(btc)
        adapter = make_adapter(emu)
        adapter.load_markets()
        return emu, adapter

    return start


def balances(adapter: CcxtAdapter) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
    return {b.currency: (b.total, b.free, b.used) for b in adapter.fetch_balance()}


def posts(emu: ExchangeEmulator) -> list:
    return [r for r in emu.requests if r.method == "POST" and r.path == ORDER_PATH]


def test_load_markets_rules(spot: Spot) -> None:
    emu, adapter = spot()
    rules = {r.symbol: r for r in adapter.load_markets()}
    assert set(rules) == {"BTC/USDT", "ETH/USDT"}
    btc = rules[SPOT]
    assert (btc.type, btc.tick, btc.step, btc.min_amount, btc.min_notional) == (
        "spot",
        D("0.01"),
        D("0.00001"),
        D("0.00001"),
        D(5),
    )
    assert btc.max_leverage is None and btc.contract_size == 1
    assert emu.unhandled == []


def test_balance_and_ticker(spot: Spot) -> None:
    emu, adapter = spot(btc="0.5")
    assert balances(adapter)["USDT"] == (D(10000), D(10000), D(0))
    assert balances(adapter)["BTC"] == (D("0.5"), D("0.5"), D(0))
    emu.set_price(SPOT, "30123.45")
    ticker = adapter.fetch_ticker(SPOT)
    assert ticker.last == D("30123.45") and ticker.bid is not None and ticker.ask == D("30123.45")


def test_market_buy_and_sell_move_balances_and_charge_fees(spot: Spot) -> None:
    emu, adapter = spot()
    buy = adapter.create_order(OrderRequest(SPOT, Side.BUY, OrderType.MARKET, D("0.01"), "m-buy"))
    assert buy.status is OrderStatus.CLOSED and buy.filled == D("0.01") and buy.average_price == D(30000)
    assert (buy.fee, buy.fee_currency) == (D("0.00001"), "BTC") and buy.client_order_id == "m-buy"
    assert balances(adapter)["BTC"][0] == D("0.00999") and balances(adapter)["USDT"][0] == D(9700)
    sell = adapter.create_order(OrderRequest(SPOT, Side.SELL, OrderType.MARKET, D("0.00999"), "m-sell"))
    assert sell.status is OrderStatus.CLOSED and (sell.fee, sell.fee_currency) == (D("0.2997"), "USDT")
    after = balances(adapter)
    assert after["BTC"][0] == 0 and after["USDT"][0] == D("9999.4003")


def test_limit_order_rests_then_fills_on_a_later_candle(spot: Spot) -> None:
    emu, adapter = spot(("30000", "30050", "29950", "30000"), ("30000", "30000", "29400", "29500"))
    order = adapter.create_order(OrderRequest(SPOT, Side.BUY, OrderType.LIMIT, D("0.1"), "l-buy", price=D("29500.004")))
    assert order.status is OrderStatus.OPEN and order.price == D("29500")
    assert balances(adapter)["USDT"] == (D(10000), D(7050), D(2950))
    assert [o.client_order_id for o in adapter.fetch_open_orders(SPOT)] == ["l-buy"]
    emu.advance()
    assert adapter.fetch_order_by_client_id(SPOT, "l-buy").status is OrderStatus.OPEN  # type: ignore[union-attr]
    emu.advance()
    filled = adapter.fetch_order_by_client_id(SPOT, "l-buy")
    assert filled is not None and filled.status is OrderStatus.CLOSED and filled.filled == D("0.1")
    assert balances(adapter)["BTC"][0] == D("0.0999") and adapter.fetch_open_orders() == []


def test_stop_loss_is_a_stop_loss_limit_that_triggers_and_fills(spot: Spot) -> None:
    emu, adapter = spot(("30000", "30000", "29500", "29600"), ("29600", "29600", "28800", "28900"), btc="0.01")
    stop = adapter.create_protective_order(
        ProtectiveOrderRequest(
            SPOT, Side.SELL, ProtectionKind.STOP_LOSS, D("0.01"), D("29000"), "sl-1", limit_price=D("28950")
        )
    )
    assert stop.protective and stop.status is OrderStatus.OPEN and stop.type == "stop_limit"
    assert emu.engine.orders[int(stop.id)].extra["wire_type"] == "STOP_LOSS_LIMIT"
    assert balances(adapter)["BTC"] == (D("0.01"), D(0), D("0.01"))  # locked by the stop order
    emu.advance()
    assert adapter.fetch_order_by_client_id(SPOT, "sl-1", protective=True).status is OrderStatus.OPEN  # type: ignore[union-attr]
    emu.advance()  # low 28800 reaches the stop; a sell limit at 28950 is marketable at 29000
    done = adapter.fetch_order_by_client_id(SPOT, "sl-1", protective=True)
    assert done is not None and done.id == stop.id and done.status is OrderStatus.CLOSED
    assert done.filled == D("0.01") and done.average_price == D(29000)
    after = balances(adapter)
    assert after["BTC"][0] == 0 and after["USDT"][0] == D(10000) + D("290") - D("0.29")


def test_take_profit_is_a_take_profit_limit(spot: Spot) -> None:
    emu, adapter = spot(("30000", "31100", "30000", "31000"), btc="0.01")
    tp = adapter.create_protective_order(
        ProtectiveOrderRequest(SPOT, Side.SELL, ProtectionKind.TAKE_PROFIT, D("0.01"), D("31000"), "tp-1")
    )
    assert tp.type == "take_profit" and tp.trigger_price == D(31000)
    assert emu.engine.orders[int(tp.id)].extra["wire_type"] == "TAKE_PROFIT_LIMIT"
    emu.advance()
    done = adapter.fetch_order_by_client_id(SPOT, "tp-1", protective=True)
    assert done is not None and done.status is OrderStatus.CLOSED and done.average_price == D(31000)
    assert balances(adapter)["USDT"][0] == D(10000) + D(310) - D("0.31")


def test_cancel_and_open_orders(spot: Spot) -> None:
    emu, adapter = spot(btc="0.01")
    limit = adapter.create_order(OrderRequest(SPOT, Side.BUY, OrderType.LIMIT, D("0.001"), "c-1", price=D("25000")))
    stop = adapter.create_protective_order(
        ProtectiveOrderRequest(
            SPOT, Side.SELL, ProtectionKind.STOP_LOSS, D("0.01"), D("28000"), "c-sl", limit_price=D("27900")
        )
    )
    assert {o.client_order_id for o in adapter.fetch_open_orders(SPOT)} == {"c-1", "c-sl"}
    assert adapter.cancel_order(SPOT, order_id=limit.id).status is OrderStatus.CANCELED
    assert adapter.cancel_order(SPOT, order_id=stop.id, protective=True).status is OrderStatus.CANCELED
    assert adapter.fetch_open_orders(SPOT) == [] and balances(adapter)["BTC"][1] == D("0.01")
    with pytest.raises(errors.OrderNotFound):
        adapter.cancel_order(SPOT, order_id=limit.id)
    assert adapter.fetch_order_by_client_id(SPOT, "never-sent") is None


def test_insufficient_balance_is_insufficient_funds(spot: Spot) -> None:
    emu, adapter = spot()
    with pytest.raises(errors.InsufficientFunds, match="insufficient balance"):
        adapter.create_order(OrderRequest(SPOT, Side.BUY, OrderType.MARKET, D("0.5"), "too-big"))
    with pytest.raises(errors.InsufficientFunds):
        adapter.create_order(OrderRequest(SPOT, Side.SELL, OrderType.LIMIT, D("0.001"), "no-btc", price=D("31000")))
    assert emu.engine.orders == {}


def test_refusals_send_no_order(spot: Spot) -> None:
    emu, adapter = spot(btc="1")
    emu.requests.clear()
    with pytest.raises(errors.InvalidOrder, match="reduce-only"):
        adapter.create_order(OrderRequest(SPOT, Side.SELL, OrderType.MARKET, D("0.001"), "r", reduce_only=True))
    with pytest.raises(errors.InvalidOrder, match="notional"):
        adapter.create_order(OrderRequest(SPOT, Side.BUY, OrderType.LIMIT, D("0.0001"), "small", price=D("30000")))
    with pytest.raises(errors.InvalidOrder, match="minimum"):
        adapter.create_order(OrderRequest(SPOT, Side.BUY, OrderType.MARKET, D("0.000001"), "tiny"))
    with pytest.raises(errors.InvalidOrder, match="limit_price"):
        adapter.create_protective_order(
            ProtectiveOrderRequest(SPOT, Side.SELL, ProtectionKind.STOP_LOSS, D("0.001"), D("29000"), "no-limit")
        )
    assert posts(emu) == [] and emu.engine.orders == {}


def test_dropped_response_on_create_finds_the_one_order(spot: Spot) -> None:
    emu, adapter = spot()
    emu.faults.drop_response(method="POST", path=ORDER_PATH, count=1)
    order = adapter.create_order(OrderRequest(SPOT, Side.BUY, OrderType.MARKET, D("0.01"), "dropped"))
    assert order.client_order_id == "dropped" and order.status is OrderStatus.CLOSED
    # One submission (a dropped request is recorded twice: handled, then its response dropped), then a lookup.
    assert [r.status for r in posts(emu)] == [200, 0]
    assert [r.method for r in emu.requests if r.path == ORDER_PATH] == ["POST", "POST", "GET"]
    assert [o.client_id for o in emu.engine.orders.values()] == ["dropped"]
    assert balances(adapter)["BTC"][0] == D("0.00999")
