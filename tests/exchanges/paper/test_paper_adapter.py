"""PaperAdapter against the database, with hand-computed prices, fees and PnL.

Defaults: binanceusdm (taker 0.04 %, maker 0.02 %), BTC/USDT:USDT with tick 0.1, step 0.001,
minimum notional 100 (tests.factories.MarketFactory), 10,000 USDT, slippage 2 bps."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from django.db import IntegrityError, transaction

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
from apps.exchanges.adapters.errors import InsufficientFunds, InvalidOrder
from apps.exchanges.adapters.paper import PaperAdapter, paper_accounts_process_candles
from apps.exchanges.models import PaperOrder
from tests.exchanges.paper.helpers import SYMBOL, flat, paper_account, release, store_bars

pytestmark = pytest.mark.django_db


def market(amount: str, side: Side = Side.BUY, cid: str = "m1", **fields) -> OrderRequest:
    return OrderRequest(
        symbol=SYMBOL, side=side, type=OrderType.MARKET, amount=D(amount), client_order_id=cid, **fields
    )


def limit(amount: str, price: str, side: Side = Side.BUY, cid: str = "l1", **fields) -> OrderRequest:
    return OrderRequest(
        symbol=SYMBOL, side=side, type=OrderType.LIMIT, amount=D(amount), price=D(price), client_order_id=cid, **fields
    )


def protect(kind: ProtectionKind, trigger: str, amount: str = "0.01", cid: str | None = None) -> ProtectiveOrderRequest:
    return ProtectiveOrderRequest(
        symbol=SYMBOL,
        side=Side.SELL,
        kind=kind,
        amount=D(amount),
        trigger_price=D(trigger),
        client_order_id=cid or kind.value,
    )


def test_market_buy_fills_at_last_close_plus_slippage_with_taker_fee():
    store_bars([flat(20000)])
    adapter = PaperAdapter(paper_account())
    order = adapter.create_order(market("0.01"))
    # 20000 × (1 + 0.0002) = 20004; fee 0.01 × 20004 × 0.0004 = 0.080016
    assert order.status == OrderStatus.CLOSED
    assert order.average_price == D("20004")
    assert order.fee == D("0.080016")
    [balance] = adapter.fetch_balance()
    assert balance.total == D("9999.919984")
    # used = 0.01 × 20004 / 1; unrealised at 20000 = 0.01 × (20000 − 20004) = −0.04
    assert balance.used == D("200.04")
    assert balance.free == D("9999.919984") - D("0.04") - D("200.04")


def test_ticker_is_the_close_of_the_newest_released_candle():
    _, feed = store_bars([flat(20000), flat(20100), flat(20200)])
    adapter = PaperAdapter(paper_account())
    assert adapter.fetch_ticker(SYMBOL).last == D("20000")
    release(feed, 2)
    assert adapter.fetch_ticker(SYMBOL).last == D("20200")
    assert len(adapter.fetch_ohlcv(SYMBOL, "1h", since=0, limit=10)) == 3
    assert len(adapter.fetch_ohlcv(SYMBOL, "1h", since=0, limit=2)) == 2


def test_limit_order_rests_then_fills_at_its_price_with_maker_fee():
    _, feed = store_bars([flat(20000), (20000, 20050, 19950, 20000), (20000, 20000, 19850, 19900)])
    adapter = PaperAdapter(paper_account())
    order = adapter.create_order(limit("0.01", "19900"))
    assert order.status == OrderStatus.OPEN
    assert adapter.fetch_balance()[0].used == D("199")  # 0.01 × 19900 reserved at leverage 1
    release(feed, 1)
    assert adapter.sync() == []  # low 19950 does not reach 19900
    release(feed, 2)
    [filled] = adapter.sync()
    assert (filled.status, filled.average_price, filled.fee) == (OrderStatus.CLOSED, D("19900"), D("0.0398"))
    [position] = adapter.fetch_positions()
    assert (position.side, position.amount, position.entry_price) == (PositionSide.LONG, D("0.01"), D("19900"))


def test_reduce_only_refused_without_position_or_when_increasing_and_clipped():
    store_bars([flat(20000)])
    adapter = PaperAdapter(paper_account(), slippage_bps=0)
    with pytest.raises(InvalidOrder, match="no open position"):
        adapter.create_order(market("0.01", Side.SELL, reduce_only=True))
    adapter.create_order(market("0.01", cid="open"))
    with pytest.raises(InvalidOrder, match="increase"):
        adapter.create_order(market("0.01", Side.BUY, cid="more", reduce_only=True))
    closed = adapter.create_order(market("0.05", Side.SELL, cid="close", reduce_only=True))
    assert closed.amount == closed.filled == D("0.01")
    assert adapter.fetch_positions() == []


def test_insufficient_margin_then_enough_after_raising_leverage():
    store_bars([flat(20000)])
    adapter = PaperAdapter(paper_account())
    with pytest.raises(InsufficientFunds):
        adapter.create_order(market("1"))  # 20,004 USDT of margin at 1x
    adapter.set_leverage(SYMBOL, 10)
    order = adapter.create_order(market("1", cid="m2"))  # 2,000.4 + 8.0016 fee
    assert order.status == OrderStatus.CLOSED
    assert adapter.fetch_positions()[0].leverage == 10


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        (market("0.0015"), "step"),
        (market("0.001"), "notional"),  # 0.001 × 20000 = 20 < 100
        (limit("0.01", "19900.05"), "tick"),
        (market("0"), "positive|minimum"),  # rounding.check_order's wording, owned elsewhere
    ],
)
def test_orders_off_the_grid_or_below_minimums_are_refused(request_, reason):
    store_bars([flat(20000)])
    adapter = PaperAdapter(paper_account())
    with pytest.raises(InvalidOrder, match=reason):
        adapter.create_order(request_)
    assert not PaperOrder.objects.exists()


def test_average_entry_partial_close_flip_and_pnl():
    _, feed = store_bars([flat(20000), flat(21000)])
    adapter = PaperAdapter(paper_account(), slippage_bps=0)
    adapter.create_order(market("0.01", cid="a"))  # at 20000
    release(feed, 1)
    adapter.create_order(market("0.01", cid="b"))  # at 21000
    [position] = adapter.fetch_positions()
    assert position.entry_price == D("20500")
    assert position.unrealized_pnl == D("10")  # 0.02 × (21000 − 20500)
    adapter.create_order(market("0.005", Side.SELL, cid="c"))  # realises 0.005 × 500 = 2.5
    assert adapter.fetch_positions()[0].amount == D("0.015")
    adapter.create_order(market("0.025", Side.SELL, cid="d"))  # closes 0.015 (+7.5), then 0.01 short
    [position] = adapter.fetch_positions()
    assert (position.side, position.amount, position.entry_price) == (PositionSide.SHORT, D("0.01"), D("21000"))
    # fees: 0.01×20000×0.0004 + 0.01×21000×0.0004 + 0.005×21000×0.0004 + 0.025×21000×0.0004 = 0.416
    state = adapter.account.paper_state
    state.refresh_from_db()
    assert (state.realized_pnl, state.fees_paid, state.cash) == (D("10"), D("0.416"), D("10009.584"))


def test_isolated_liquidation_price_and_none_for_cross():
    store_bars([flat(20000)])
    account = paper_account(leverage=10)
    adapter = PaperAdapter(account, slippage_bps=0)
    adapter.create_order(market("0.01"))
    # long: 20000 × (1 − 1/10 + 0.004) = 18080
    assert adapter.fetch_positions()[0].liquidation_price == D("18080")
    adapter.create_order(market("0.01", Side.SELL, cid="close"))
    adapter.set_margin_mode(SYMBOL, MarginMode.CROSS)
    adapter.create_order(market("0.01", cid="again"))
    assert adapter.fetch_positions()[0].liquidation_price is None
    with pytest.raises(InvalidOrder, match="margin mode"):
        adapter.set_margin_mode(SYMBOL, MarginMode.ISOLATED)


def open_long_with_protection(bars, *, sl: str = "19000", tp: str = "21000", slippage_bps: int = 0):
    """A 0.01 long at bar 0's close with a stop and a target; returns (adapter, feed)."""
    _, feed = store_bars(bars)
    adapter = PaperAdapter(paper_account(), slippage_bps=slippage_bps)
    adapter.create_order(market("0.01"))
    adapter.create_protective_order(protect(ProtectionKind.STOP_LOSS, sl))
    adapter.create_protective_order(protect(ProtectionKind.TAKE_PROFIT, tp))
    return adapter, feed


def statuses(adapter):
    return {
        kind: adapter.fetch_order_by_client_id(SYMBOL, kind, protective=True).status
        for kind in ("stop_loss", "take_profit")
    }


def test_take_profit_triggers_on_a_later_candle_and_the_stop_stays_open():
    adapter, feed = open_long_with_protection(
        [flat(20000), flat(20000), (20000, 20500, 19900, 20400), (20400, 21200, 20300, 21100)], slippage_bps=2
    )
    release(feed, 2)
    assert adapter.sync() == []
    release(feed, 3)
    [tp] = adapter.sync()
    # at the target minus exit slippage: 21000 × 0.9998 = 20995.8
    assert tp.average_price == D("20995.8")
    assert statuses(adapter) == {"stop_loss": OrderStatus.OPEN, "take_profit": OrderStatus.CLOSED}
    assert adapter.fetch_positions() == []


def test_gap_through_the_stop_fills_at_the_open():
    adapter, feed = open_long_with_protection([flat(20000), flat(20000), (18500, 18600, 18400, 18500)])
    release(feed, 2)
    [sl] = adapter.sync()
    assert sl.average_price == D("18500")


def test_stop_and_target_inside_one_candle_the_stop_wins_and_the_target_expires():
    adapter, feed = open_long_with_protection([flat(20000), flat(20000), (20000, 21500, 18500, 20000)])
    release(feed, 2)
    changed = adapter.sync()
    assert [(order.type, order.status) for order in changed] == [
        ("stop_loss", OrderStatus.CLOSED),
        ("take_profit", OrderStatus.EXPIRED),
    ]
    assert changed[0].average_price == D("19000")
    assert PaperOrder.objects.get(client_order_id="take_profit").status_reason.startswith("reduce-only")


def test_protective_orders_are_checked_from_the_candle_after_the_entry():
    # The entry fills at bar 0's close: bar 0's range (through the stop) came before the fill and
    # must not fill it; bar 1, the next candle, touches the stop and does, as on a real exchange.
    adapter, feed = open_long_with_protection([(20000, 20100, 18900, 20000), (20000, 20100, 18950, 20000)])
    assert adapter.sync() == []
    release(feed, 1)
    [sl] = adapter.sync()
    assert sl.average_price == D("19000")


def test_sync_starts_at_the_entry_when_set_leverage_made_the_position_row(django_assert_max_num_queries):
    # 200 bars of history, all through the stop, released before the entry. set_leverage makes the
    # position row before any candle is processed; sync must still look only after the entry's candle.
    bars = [(20000, 20100, 18000, 20000)] * 200 + [flat(20000), (20000, 20100, 18950, 20000)]
    _, feed = store_bars(bars)
    release(feed, 200)
    adapter = PaperAdapter(paper_account(), slippage_bps=0)
    adapter.set_leverage(SYMBOL, 2)
    adapter.create_order(market("0.01"))
    adapter.create_protective_order(protect(ProtectionKind.STOP_LOSS, "19000"))

    with django_assert_max_num_queries(20):
        assert adapter.sync() == []
    release(feed, 201)
    [sl] = adapter.sync()
    assert sl.average_price == D("19000")


def test_triggered_reduce_only_with_no_position_is_expired():
    adapter, feed = open_long_with_protection([flat(20000), flat(20000), flat(21500)])
    adapter.create_order(market("0.01", Side.SELL, cid="manual-close"))
    release(feed, 2)
    changed = adapter.sync()
    assert [(order.type, order.status) for order in changed] == [("take_profit", OrderStatus.EXPIRED)]


def test_state_survives_a_restart_and_the_worker_entry_point_processes_it():
    adapter, feed = open_long_with_protection([flat(20000), flat(20000), flat(21500)])
    release(feed, 2)
    account = type(adapter.account).objects.get(pk=adapter.account.pk)  # a fresh process's view
    restarted = PaperAdapter(account, slippage_bps=0)
    assert [order.type for order in restarted.fetch_open_orders()] == ["stop_loss", "take_profit"]
    assert restarted.fetch_positions()[0].amount == D("0.01")
    assert paper_accounts_process_candles() == 1
    assert paper_accounts_process_candles() == 0  # the candle is processed once
    assert restarted.fetch_positions() == []
    assert PaperAdapter(account).fetch_order_by_client_id(SYMBOL, "take_profit", protective=True).status == "closed"


def test_fetch_order_by_client_id_and_duplicates_refused():
    store_bars([flat(20000)])
    adapter = PaperAdapter(paper_account())
    assert adapter.fetch_order_by_client_id(SYMBOL, "m1") is None
    order = adapter.create_order(market("0.01"))
    assert adapter.fetch_order_by_client_id(SYMBOL, "m1") == order
    assert adapter.fetch_order_by_client_id(SYMBOL, "m1", protective=True) is None
    with pytest.raises(InvalidOrder, match="duplicate"):
        adapter.create_order(market("0.01"))
    assert PaperOrder.objects.count() == 1
    row = PaperOrder.objects.get()
    row.pk = None
    with pytest.raises(IntegrityError), transaction.atomic():
        row.save()  # the database refuses it too, whatever the adapter checks


def test_cancel_open_limit_order_releases_its_margin():
    store_bars([flat(20000)])
    adapter = PaperAdapter(paper_account())
    order = adapter.create_order(limit("0.01", "19000"))
    canceled = adapter.cancel_order(SYMBOL, order_id=order.id)
    assert canceled.status == OrderStatus.CANCELED
    assert adapter.fetch_open_orders() == []
    assert adapter.fetch_balance()[0].used == 0
