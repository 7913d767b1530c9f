"""Paper accounts on live prices: they fill on the candles the `exchange` feed releases (as live
collection stores them) with the replay's fill model, mark positions at the exchange's last price,
and never see the replay's candles; a replay-priced account on the same market never sees the
exchange's. A paper account's feed never depends on which other accounts exist."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest

from apps.exchanges.adapters.base import OrderRequest, OrderType, ProtectionKind, ProtectiveOrderRequest, Side
from apps.exchanges.adapters.errors import ExchangeUnavailable
from apps.exchanges.adapters.paper import PaperAdapter, paper_accounts_process_candles
from apps.exchanges.models import ExchangeAccount, PaperFill
from apps.market.livecache import LastPrice, last_price_key, market_cache
from apps.market.models import Market, MarketFeed
from apps.market.replay import feed_advance
from tests.exchanges.paper.helpers import SYMBOL, RecordedExchange, bar_time, flat, paper_account, release, store_bars
from tests.market.helpers import HOUR, START_MS

pytestmark = pytest.mark.django_db
LIVE_START_MS = START_MS + 24 * HOUR  # the exchange's candles, a day after the stored history the replay plays
# Replayed history around 20,000: bar 1 falls to 18,000, through both accounts' stops.
REPLAYED = [flat(20000), (20000, 20000, 18000, 18500)]
# Live candles around 19,000: candle 1 falls to 18,500, through the live stop (18,600), and stays far
# below the replayed account's stop (19,900), which reading it would trigger too.
LIVE = [[LIVE_START_MS + i * HOUR, *bar, 1.0] for i, bar in enumerate([flat(19000), (19000, 19010, 18500, 18550)])]


def buy_with_stop(account: ExchangeAccount, stop: str) -> PaperAdapter:
    adapter = PaperAdapter(account, slippage_bps=0)
    adapter.create_order(
        OrderRequest(symbol=SYMBOL, side=Side.BUY, type=OrderType.MARKET, amount=D("0.01"), client_order_id="entry")
    )
    adapter.create_protective_order(
        ProtectiveOrderRequest(
            symbol=SYMBOL,
            side=Side.SELL,
            kind=ProtectionKind.STOP_LOSS,
            amount=D("0.01"),
            trigger_price=D(stop),
            client_order_id="stop",
        )
    )
    return adapter


def exchange_tick(market: Market, exchange: RecordedExchange) -> None:
    feed_advance(market=market, timeframe="1h", source=exchange)


def fills(account: ExchangeAccount) -> list[tuple[str, D]]:
    rows = PaperFill.objects.filter(order__account=account).order_by("pk")
    return list(rows.values_list("order__client_order_id", "price"))


def test_a_live_priced_account_fills_its_stop_on_a_live_candle_and_the_replayed_one_does_not_see_it() -> None:
    market, replay_feed = store_bars(REPLAYED)
    exchange = RecordedExchange(LIVE)
    exchange_tick(market, exchange)
    live = buy_with_stop(paper_account(name="live", price_source="live"), stop="18600")
    replayed = buy_with_stop(paper_account(name="replayed"), stop="19900")
    assert fills(live.account) == [("entry", D("19000"))]
    assert fills(replayed.account) == [("entry", D("20000"))]

    exchange_tick(market, exchange)
    assert paper_accounts_process_candles() == 1  # the worker's adapters slip 2 bps: 18,600 × 0.9998
    assert fills(live.account) == [("entry", D("19000")), ("stop", D("18596.28"))]
    assert fills(replayed.account) == [("entry", D("20000"))]
    assert live.fetch_ticker(SYMBOL).last == D("18550")
    assert replayed.fetch_ticker(SYMBOL).last == D("20000")

    release(replay_feed, 1)
    assert paper_accounts_process_candles() == 1
    assert fills(replayed.account) == [("entry", D("20000")), ("stop", D("19896.02"))]
    assert live.fetch_ticker(SYMBOL).last == D("18550")


def test_without_a_collected_candle_a_live_account_has_no_price_even_when_the_replay_runs() -> None:
    store_bars(REPLAYED)
    live = PaperAdapter(paper_account(price_source="live"))
    with pytest.raises(ExchangeUnavailable, match="live exchange feed"):
        live.fetch_ticker(SYMBOL)
    assert not MarketFeed.objects.filter(source=MarketFeed.Source.EXCHANGE).exists()


@pytest.mark.parametrize(
    ("seen_after_close", "mark"),
    [(timedelta(seconds=20), D("19100")), (-timedelta(minutes=30), D("19000"))],
    ids=["fresh: the last price", "older than the candle: its close"],
)
def test_a_live_account_marks_at_the_exchanges_last_price_when_it_is_fresh(seen_after_close, mark) -> None:
    market, _ = store_bars(REPLAYED)
    exchange_tick(market, RecordedExchange(LIVE))
    live = buy_with_stop(paper_account(name="live", price_source="live"), stop="18600")
    replayed = buy_with_stop(paper_account(name="replayed"), stop="19900")
    closed_at = bar_time(24) + timedelta(hours=1)
    market_cache().set(last_price_key(market.pk), LastPrice(price=D("19100"), at=closed_at + seen_after_close))

    [position] = live.fetch_positions()
    assert (position.mark_price, position.unrealized_pnl) == (mark, (mark - D("19000")) * D("0.01"))
    [balance] = live.fetch_balance()
    assert balance.free == balance.total + (mark - D("19000")) * D("0.01") - balance.used
    assert live.fetch_ticker(SYMBOL).last == D("19000")  # market orders still fill at the candle's close
    assert replayed.fetch_positions()[0].mark_price == D("20000")  # the replay ignores the exchange's price
