"""The exchange-neutral engine and feed, without HTTP: fill model, margin maths, candles."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.exchanges.emulator import Candle, Engine, EngineError, OrderStatus, OrderType, PriceFeed, Reason, Side
from apps.exchanges.emulator.candles import FeedExhausted, aggregate, interval_ms, symbol_from_filename
from apps.exchanges.emulator.engine import EngineConfig
from apps.exchanges.emulator.markets import binance_markets, load_leverage_tiers
from tests.exchanges.emulator.conftest import MINUTE, START, SYMBOL, scripted_candles

D = Decimal


def make_engine(*rows: tuple[str, str, str, str], **config: object) -> Engine:
    feed = PriceFeed({SYMBOL: scripted_candles(*rows)}, start_time=START + 49 * MINUTE)
    markets = {SYMBOL: binance_markets(load_leverage_tiers())[SYMBOL]}
    return Engine(markets, feed, EngineConfig(**config), clock=lambda: 1_700_000_000.0)  # type: ignore[arg-type]


def buy(engine: Engine, qty: str, **kw: object) -> object:
    return engine.place_order(symbol=SYMBOL, side=Side.BUY, type=OrderType.MARKET, qty=D(qty), **kw)  # type: ignore[arg-type]


def stop(engine: Engine, side: Side, kind: OrderType, trigger: str, qty: str = "0.01") -> object:
    return engine.place_order(
        symbol=SYMBOL, side=side, type=kind, qty=D(qty), trigger_price=D(trigger), reduce_only=True
    )


def test_market_fill_updates_position_wallet_and_upnl() -> None:
    engine = make_engine()
    order = buy(engine, "0.01")
    assert order.status is OrderStatus.FILLED and order.avg_price == 30000
    pos = engine.position(SYMBOL)
    assert (pos.qty, pos.entry_price) == (D("0.01"), D(30000))
    assert engine.wallet == D(10000) - D("0.15")
    engine.set_price(SYMBOL, D(31000))
    account = engine.account()
    assert account.unrealized_pnl == 10
    assert account.position_margin == D("0.01") * 31000 / 20
    assert account.available == engine.wallet + 10 - account.position_margin


def test_gap_fills_at_open_and_stop_beats_take_profit() -> None:
    engine = make_engine(("28000", "31500", "27900", "31000"))
    buy(engine, "0.01")
    sl = stop(engine, Side.SELL, OrderType.STOP_MARKET, "29000")
    tp = stop(engine, Side.SELL, OrderType.TAKE_PROFIT_MARKET, "31000")
    engine.advance()
    assert sl.status is OrderStatus.TRIGGERED
    child = engine.orders[sl.child_id]
    assert child.avg_price == 28000  # the candle opened below the stop
    assert tp.status is OrderStatus.CANCELED and tp.finish_reason == "reduce_only"
    assert engine.position(SYMBOL).qty == 0


def test_short_protection_triggers_on_the_way_up() -> None:
    engine = make_engine(("30000", "30600", "29990", "30500"))
    engine.place_order(symbol=SYMBOL, side=Side.SELL, type=OrderType.MARKET, qty=D("0.01"))
    sl = stop(engine, Side.BUY, OrderType.STOP_MARKET, "30500")
    assert sl.trigger_rule == ">="
    engine.advance()
    assert engine.orders[sl.child_id].avg_price == 30500
    assert engine.position(SYMBOL).qty == 0


def test_stop_limit_places_a_limit_order_when_triggered() -> None:
    engine = make_engine(("29550", "29550", "29000", "29100"), ("29100", "29700", "29000", "29650"))
    buy(engine, "0.02")
    marketable = engine.place_order(
        symbol=SYMBOL,
        side=Side.SELL,
        type=OrderType.STOP,
        qty=D("0.01"),
        price=D(29200),
        trigger_price=D(29500),
        reduce_only=True,
    )
    resting = engine.place_order(
        symbol=SYMBOL,
        side=Side.SELL,
        type=OrderType.STOP,
        qty=D("0.01"),
        price=D(29600),
        trigger_price=D(29500),
        reduce_only=True,
    )
    engine.advance()
    # Selling at 29200 or better when the market is at 29500 is marketable: it takes at 29500.
    assert engine.orders[marketable.child_id].avg_price == 29500
    child = engine.orders[resting.child_id]
    assert child.type is OrderType.LIMIT and child.status is OrderStatus.NEW
    engine.advance()
    assert child.status is OrderStatus.FILLED and child.avg_price == 29600


def test_reduce_only_fill_is_clamped_to_the_position() -> None:
    engine = make_engine(("30000", "30000", "28900", "29000"))
    buy(engine, "0.01")
    sl = stop(engine, Side.SELL, OrderType.STOP_MARKET, "29500", qty="0.05")
    engine.advance()
    child = engine.orders[sl.child_id]
    assert child.filled == D("0.01") and child.status is OrderStatus.EXPIRED
    assert engine.position(SYMBOL).qty == 0


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"qty": D("0.0105")}, Reason.QTY_STEP),
        ({"qty": D("0.002")}, Reason.MIN_NOTIONAL),
        ({"qty": D("0")}, Reason.BAD_QUANTITY),
        ({"qty": D("8")}, Reason.INSUFFICIENT_MARGIN),
        ({"qty": D("0.01"), "reduce_only": True}, Reason.REDUCE_ONLY_EMPTY),
    ],
)
def test_entry_rules(kwargs: dict, reason: Reason) -> None:
    engine = make_engine()
    with pytest.raises(EngineError) as raised:
        engine.place_order(symbol=SYMBOL, side=Side.BUY, type=OrderType.MARKET, **kwargs)
    assert raised.value.reason is reason
    assert engine.orders == {}


def test_open_limit_orders_reserve_margin() -> None:
    engine = make_engine()
    engine.place_order(symbol=SYMBOL, side=Side.BUY, type=OrderType.LIMIT, qty=D("5"), price=D(29000))
    assert engine.account().order_margin == D(5) * 29000 / 20
    with pytest.raises(EngineError) as raised:
        engine.place_order(symbol=SYMBOL, side=Side.BUY, type=OrderType.LIMIT, qty=D("2"), price=D(29000))
    assert raised.value.reason is Reason.INSUFFICIENT_MARGIN


def test_ioc_limit_that_cannot_fill_expires() -> None:
    engine = make_engine()
    order = engine.place_order(
        symbol=SYMBOL, side=Side.BUY, type=OrderType.LIMIT, qty=D("0.01"), price=D(29000), time_in_force="IOC"
    )
    assert order.status is OrderStatus.EXPIRED and order.finish_reason == "ioc"


def test_post_only_that_would_take_is_rejected() -> None:
    engine = make_engine()
    with pytest.raises(EngineError) as raised:
        engine.place_order(
            symbol=SYMBOL, side=Side.BUY, type=OrderType.LIMIT, qty=D("0.01"), price=D(30100), time_in_force="GTX"
        )
    assert raised.value.reason is Reason.POST_ONLY_WOULD_TAKE


def test_liquidation_price_of_an_isolated_long() -> None:
    engine = make_engine()
    engine.set_leverage(SYMBOL, 10)
    engine.set_margin_mode(SYMBOL, "isolated")
    buy(engine, "0.1")
    # Binance one-way formula with MMR 0.4 %: (3000 - 0.1*30000) / (0.1*0.004 - 0.1) + ... = 27108.43...
    assert engine.liquidation_price(engine.position(SYMBOL)).quantize(D("0.01")) == D("27108.43")


def test_feed_has_no_look_ahead_and_rolls_up() -> None:
    candles = scripted_candles(("1", "2", "0.5", "1.5"), history=10)
    feed = PriceFeed({SYMBOL: candles}, start_time=START + 4 * MINUTE)
    assert len(feed.history(SYMBOL)) == 5 and feed.price(SYMBOL) == 30000
    five = feed.history(SYMBOL, 5 * MINUTE)
    assert [c.open_time % (5 * MINUTE) for c in five] == [0] * len(five)
    for _ in range(6):
        feed.advance()
    assert feed.current(SYMBOL).close == D("1.5")
    with pytest.raises(FeedExhausted):
        feed.advance()


def test_aggregate_and_helpers() -> None:
    base = [Candle(i * MINUTE, D(i), D(i + 1), D(i - 1), D(i), D(1)) for i in range(10)]
    rolled = aggregate(base, 5 * MINUTE)
    assert [(c.open, c.high, c.low, c.close, c.volume) for c in rolled] == [
        (D(0), D(5), D(-1), D(4), D(5)),
        (D(5), D(10), D(4), D(9), D(5)),
    ]
    assert interval_ms("1h") == 3_600_000
    assert symbol_from_filename("binance_ETHUSDT_1m_2023.freqtrade.json") == "ETH/USDT:USDT"
