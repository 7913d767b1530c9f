"""CcxtAdapter with the real ccxt client against the local emulator, on both futures exchanges."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from apps.exchanges.adapters import errors
from apps.exchanges.adapters.base import (
    MarginMode,
    OrderRequest,
    OrderStatus,
    OrderType,
    PositionSide,
    ProtectionKind,
    ProtectiveOrderRequest,
    Side,
)
from apps.exchanges.adapters.ccxt_adapter import CcxtAdapter
from apps.exchanges.emulator import Candle, ExchangeEmulator
from tests.exchanges.adapters.conftest import SYMBOL

MINUTE = 60_000
START = 1_679_004_900_000
D = Decimal


def order_path(emu: ExchangeEmulator) -> str:
    return "/api/v4/futures/usdt/orders" if emu.exchange == "gate" else "/fapi/v1/order"


def order_requests(emu: ExchangeEmulator) -> list:
    paths = {order_path(emu), "/api/v4/futures/usdt/price_orders", "/fapi/v1/algoOrder"}
    return [r for r in emu.requests if r.method == "POST" and r.path in paths]


def engine_orders(emu: ExchangeEmulator, client_id: str) -> list:
    wire = f"t-{client_id}" if emu.exchange == "gate" else client_id
    return [o for o in emu.engine.orders.values() if o.client_id == wire and not o.parent_id]


def market(side: Side, amount: str, cid: str, *, reduce_only: bool = False) -> OrderRequest:
    return OrderRequest(SYMBOL, side, OrderType.MARKET, D(amount), cid, reduce_only=reduce_only)


def test_load_markets_matches_the_emulator(emulator: ExchangeEmulator, adapter: CcxtAdapter) -> None:
    rules = {r.symbol: r for r in adapter.load_markets()}
    assert set(rules) == set(emulator.markets)
    for symbol, spec in emulator.markets.items():
        r = rules[symbol]
        assert (r.tick, r.step, r.min_amount) == (spec.tick_size, spec.step_size, spec.min_qty)
        assert r.min_notional == spec.min_notional
        assert r.contract_size == spec.contract_size and r.type == "swap"
        assert all(isinstance(v, Decimal) for v in (r.tick, r.step, r.min_amount, r.min_notional))


def test_balance_and_ticker(emulator: ExchangeEmulator, adapter: CcxtAdapter) -> None:
    usdt = next(b for b in adapter.fetch_balance() if b.currency == "USDT")
    assert usdt.total == D(10000) and usdt.free == D(10000)
    emulator.set_price(SYMBOL, "30123.4")
    ticker = adapter.fetch_ticker(SYMBOL)
    assert ticker.last == D("30123.4") and isinstance(ticker.last, Decimal)


def test_ohlcv_pages_and_returns_closed_candles_only(emulator: ExchangeEmulator, adapter: CcxtAdapter) -> None:
    clock = emulator.engine.feed.clock
    first = START
    candles = adapter.fetch_ohlcv(SYMBOL, "1m", since=first, limit=2500)
    # history=1000: candles START .. clock-1min are closed; the one at `clock` is still forming.
    assert len(candles) == 1000
    assert candles.open_time[0] == first and candles.open_time[-1] == clock - MINUTE
    assert (candles.open_time[1:] - candles.open_time[:-1] == MINUTE).all()
    stored = emulator.engine.feed.history(SYMBOL)
    assert candles.close[-1] == float(stored[-2].close)
    assert candles.volume[-1] == pytest.approx(float(stored[-2].volume))  # base units on both exchanges
    # A limit inside the history, across page boundaries (pages of 1000 and a partial).
    part = adapter.fetch_ohlcv(SYMBOL, "1m", since=first + 10 * MINUTE, limit=300)
    assert len(part) == 300 and part.open_time[0] == first + 10 * MINUTE


def test_market_limit_cancel_and_reduce_only(emulator: ExchangeEmulator, adapter: CcxtAdapter) -> None:
    emulator.set_price(SYMBOL, "30000")
    entry = adapter.create_order(market(Side.BUY, "0.02", "e-1"))
    assert entry.status is OrderStatus.CLOSED and entry.filled == D("0.02") and entry.average_price == D(30000)
    assert entry.client_order_id == "e-1"
    position = adapter.fetch_positions([SYMBOL])[0]
    assert position.side is PositionSide.LONG and position.amount == D("0.02") and position.entry_price == D(30000)

    limit = adapter.create_order(OrderRequest(SYMBOL, Side.BUY, OrderType.LIMIT, D("0.01"), "l-1", price=D("29000.07")))
    assert limit.status is OrderStatus.OPEN and limit.price == D("29000.0")  # a buy price rounds down
    assert [o.id for o in adapter.fetch_open_orders(SYMBOL)] == [limit.id]
    canceled = adapter.cancel_order(SYMBOL, order_id=limit.id)
    assert canceled.status is OrderStatus.CANCELED
    assert adapter.fetch_open_orders(SYMBOL) == []

    close = adapter.create_order(market(Side.SELL, "0.01", "x-1", reduce_only=True))
    assert close.reduce_only and close.status is OrderStatus.CLOSED
    assert adapter.fetch_positions([SYMBOL])[0].amount == D("0.01")
    with pytest.raises(errors.InvalidOrder):
        adapter.create_order(market(Side.BUY, "0.01", "x-2", reduce_only=True))  # would increase the long
    with pytest.raises(errors.OrderNotFound):
        adapter.cancel_order(SYMBOL, order_id=limit.id)


def scripted_emulator(
    factory: Callable[..., ExchangeEmulator], exchange: str, *rows: tuple[str, ...]
) -> ExchangeEmulator:
    flat = [Candle(START + i * MINUTE, D(30000), D(30000), D(30000), D(30000), D(100)) for i in range(50)]
    extra = [
        Candle(START + (50 + i) * MINUTE, *(D(v) for v in row), D(100))  # type: ignore[arg-type]
        for i, row in enumerate(rows)
    ]
    return factory(exchange, candles={SYMBOL: flat + extra}, history=49)


@pytest.mark.parametrize("exchange", ["binanceusdm", "gate"])
def test_stop_loss_and_take_profit_trigger_on_candles(
    exchange: str, emulator_factory: Callable[..., ExchangeEmulator], adapter_factory: Callable[..., CcxtAdapter]
) -> None:
    emu = scripted_emulator(
        emulator_factory, exchange, ("30000", "30050", "29950", "30000"), ("30000", "31050", "29950", "30900")
    )
    adapter = adapter_factory(emu)
    adapter.create_order(market(Side.BUY, "0.01", "p1-entry"))
    sl = adapter.create_protective_order(
        ProtectiveOrderRequest(SYMBOL, Side.SELL, ProtectionKind.STOP_LOSS, D("0.01"), D("29000.04"), "p1-sl")
    )
    tp = adapter.create_protective_order(
        ProtectiveOrderRequest(SYMBOL, Side.SELL, ProtectionKind.TAKE_PROFIT, D("0.01"), D("31000"), "p1-tp")
    )
    assert sl.protective and sl.reduce_only and sl.type == "stop_loss" and sl.trigger_price == D("29000.1")
    assert tp.type == "take_profit" and tp.amount == D("0.01")
    protective = {o.client_order_id: o for o in adapter.fetch_open_orders(SYMBOL) if o.protective}
    assert set(protective) == {"p1-sl", "p1-tp"}
    assert protective["p1-tp"].type == "take_profit" and protective["p1-sl"].type == "stop_loss"

    emu.advance()  # an ordinary candle
    assert adapter.fetch_positions([SYMBOL])
    emu.advance()  # high 31050 crosses the take-profit
    assert adapter.fetch_positions([SYMBOL]) == []
    done = adapter.fetch_order_by_client_id(SYMBOL, "p1-tp", protective=True)
    assert done is not None and done.status is OrderStatus.CLOSED
    assert done.filled == D("0.01") and done.average_price == D(31000)  # from the order the trigger placed
    still = adapter.fetch_order_by_client_id(SYMBOL, "p1-sl", protective=True)
    assert still is not None and still.status is OrderStatus.OPEN
    assert adapter.cancel_order(SYMBOL, order_id=still.id, protective=True).status is OrderStatus.CANCELED
    assert [o for o in adapter.fetch_open_orders(SYMBOL)] == []


def test_fetch_order_by_client_id_returns_none_when_absent(emulator: ExchangeEmulator, adapter: CcxtAdapter) -> None:
    assert adapter.fetch_order_by_client_id(SYMBOL, "nothing-here") is None
    assert adapter.fetch_order_by_client_id(SYMBOL, "nothing-here", protective=True) is None


def test_insufficient_margin(adapter: CcxtAdapter) -> None:
    with pytest.raises(errors.InsufficientFunds):
        adapter.create_order(market(Side.BUY, "8", "big-1"))


def test_bad_key_is_authentication_failed(
    emulator: ExchangeEmulator, adapter_factory: Callable[..., CcxtAdapter]
) -> None:
    adapter = adapter_factory(emulator, api_key="wrong-key", secret="wrong-secret-value")
    adapter.load_markets()
    with pytest.raises(errors.AuthenticationFailed) as raised:
        adapter.fetch_balance()
    assert "wrong-key" not in str(raised.value) and "wrong-secret-value" not in str(raised.value)


def test_rate_limit_is_retried_then_raised(emulator: ExchangeEmulator, adapter: CcxtAdapter) -> None:
    emulator.faults.rate_limit(retry_after=1, count=2)
    assert adapter.fetch_ticker(SYMBOL).last > 0  # two 429s, then an answer: within the three attempts
    emulator.faults.rate_limit(retry_after=1, count=None)
    before = len(emulator.requests)
    with pytest.raises(errors.RateLimited):
        adapter.fetch_ticker(SYMBOL)
    assert len(emulator.requests) - before == 3  # bounded: exactly the policy's attempts
    emulator.faults.clear()


def test_a_5xx_on_a_read_is_retried(emulator: ExchangeEmulator, adapter: CcxtAdapter) -> None:
    emulator.faults.http_error(503, method="GET", count=1)
    assert adapter.fetch_positions([SYMBOL]) == []


def test_dropped_response_on_create_finds_the_order_and_never_duplicates(
    emulator: ExchangeEmulator, adapter: CcxtAdapter
) -> None:
    emulator.set_price(SYMBOL, "30000")
    emulator.faults.drop_response(method="POST", path=order_path(emulator), count=1)
    order = adapter.create_order(market(Side.BUY, "0.01", "plan-1-entry"))
    assert order.client_order_id == "plan-1-entry" and order.status is OrderStatus.CLOSED
    assert order.filled == D("0.01")
    assert len(engine_orders(emulator, "plan-1-entry")) == 1
    # Sent once and never resubmitted: the only order the exchange holds.
    assert len([o for o in emulator.engine.orders.values() if not o.parent_id]) == 1
    assert adapter.fetch_positions([SYMBOL])[0].amount == D("0.01")


def test_dropped_response_on_a_protective_order_finds_it(emulator: ExchangeEmulator, adapter: CcxtAdapter) -> None:
    emulator.set_price(SYMBOL, "30000")
    adapter.create_order(market(Side.BUY, "0.01", "plan-3-entry"))
    path = "/api/v4/futures/usdt/price_orders" if emulator.exchange == "gate" else "/fapi/v1/algoOrder"
    emulator.faults.drop_response(method="POST", path=path)
    stop = adapter.create_protective_order(
        ProtectiveOrderRequest(SYMBOL, Side.SELL, ProtectionKind.STOP_LOSS, D("0.01"), D("29000"), "plan-3-sl")
    )
    assert stop.client_order_id == "plan-3-sl" and stop.status is OrderStatus.OPEN
    assert len(engine_orders(emulator, "plan-3-sl")) == 1


def test_5xx_without_the_order_is_order_state_unknown_and_not_resubmitted(
    emulator: ExchangeEmulator, adapter: CcxtAdapter
) -> None:
    emulator.set_price(SYMBOL, "30000")
    emulator.faults.http_error(503, method="POST", path=order_path(emulator), count=1)
    with pytest.raises(errors.OrderStateUnknown, match="plan-2-entry"):
        adapter.create_order(market(Side.BUY, "0.01", "plan-2-entry"))
    assert engine_orders(emulator, "plan-2-entry") == []
    assert len(order_requests(emulator)) == 1  # not resubmitted
    assert adapter.fetch_positions([SYMBOL]) == []


def test_5xx_after_accept_returns_the_accepted_order(emulator: ExchangeEmulator, adapter: CcxtAdapter) -> None:
    emulator.faults.error_after_accept(503, method="POST", path=order_path(emulator))
    order = adapter.create_order(
        OrderRequest(SYMBOL, Side.BUY, OrderType.LIMIT, D("0.01"), "plan-5-entry", price=D("20000"))
    )
    assert order.status is OrderStatus.OPEN and order.client_order_id == "plan-5-entry"
    assert len(engine_orders(emulator, "plan-5-entry")) == 1


@pytest.mark.parametrize(
    ("amount", "price", "match"),
    [("0.00004", None, "below the minimum"), ("0.002", "20000", "notional")],
)
def test_rounding_refusals_send_nothing(
    emulator: ExchangeEmulator, adapter: CcxtAdapter, amount: str, price: str | None, match: str
) -> None:
    if emulator.exchange == "gate" and match == "notional":
        pytest.skip("Gate has no minimum notional")
    kind = OrderType.LIMIT if price else OrderType.MARKET
    request = OrderRequest(SYMBOL, Side.BUY, kind, D(amount), "tiny", price=D(price) if price else None)
    before = len(emulator.requests)
    with pytest.raises(errors.InvalidOrder, match=match):
        adapter.create_order(request)
    assert order_requests(emulator) == []
    assert len(emulator.requests) == before


def test_leverage_and_margin_mode(emulator: ExchangeEmulator, adapter: CcxtAdapter) -> None:
    adapter.set_leverage(SYMBOL, 7)
    assert emulator.engine.position(SYMBOL).leverage == 7
    adapter.set_margin_mode(SYMBOL, MarginMode.CROSS)
    adapter.set_margin_mode(SYMBOL, MarginMode.ISOLATED)
    adapter.set_margin_mode(SYMBOL, MarginMode.ISOLATED)  # "already set" is success
    position = emulator.engine.position(SYMBOL)
    assert position.margin_mode == "isolated" and position.leverage == 7
    with pytest.raises(errors.InvalidOrder):
        adapter.set_leverage(SYMBOL, 500)


def test_messages_never_carry_keys(emulator: ExchangeEmulator, adapter: CcxtAdapter) -> None:
    emulator.faults.http_error(500, count=None)
    with pytest.raises(errors.ExchangeUnavailable) as raised:
        adapter.fetch_balance()
    assert emulator.api_key not in str(raised.value) and emulator.api_secret not in str(raised.value)
    assert emulator.api_key not in repr(adapter)
    emulator.faults.clear()
