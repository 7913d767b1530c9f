"""Live collection against the emulator with the real ccxt client: incremental ticks, the bounded and paged
backfill, outages, bad candles, pushed candles and the forming candle in the cache."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import numpy as np
import pytest

from apps.exchanges.adapters import ccxt_adapter, factory
from apps.exchanges.collect import RATE_LIMITED, UNKNOWN_SYMBOL, UNREACHABLE, exchange_feed_advance
from apps.market.arrays import CandleArrays
from apps.market.candles_io import datetime_to_ms, ms_to_datetime
from apps.market.events import candles_released
from apps.market.models import Candle, CandleImport, CandleSeriesStats, MarketFeed
from apps.market.replay import market_data_collect
from apps.market.selectors import forming_candle, market_last_price
from apps.market.services import candles_append, market_follow
from tests.exchanges.adapters.conftest import FAST_RETRY
from tests.exchanges.collect.conftest import MINUTE, aimed_at, kline_requests, live_candles, rows_of
from tests.factories import ExchangeAccountFactory, MarketFactory

pytestmark = pytest.mark.django_db


def stored_times(market, timeframe: str = "1m") -> list[int]:
    times = Candle.objects.filter(market=market, timeframe=timeframe).order_by("open_time")
    return [datetime_to_ms(moment) for moment in times.values_list("open_time", flat=True)]


def assert_contiguous(times: list[int]) -> None:
    assert times, "nothing stored"
    assert np.all(np.diff(times) == MINUTE), "a hole or a duplicate"


def exchange_feed(market, timeframe: str = "1m") -> MarketFeed:
    return MarketFeed.objects.get(market=market, timeframe=timeframe, source=MarketFeed.Source.EXCHANGE)


def test_incremental_ticks_store_only_new_closed_candles_and_cache_the_forming_one(
    live_emulator, followed_market, settings
) -> None:
    settings.MARKET_DATA_BACKFILL_BARS = 50
    emu = live_emulator(behind=10)
    clock = emu.engine.feed.clock
    released: list[object] = []
    candles_released.connect(lambda **kw: released.append(kw["horizon"]), weak=False, dispatch_uid="t-released")
    try:
        with aimed_at(emu):
            first = exchange_feed_advance(market=followed_market, timeframe="1m")
            emu.advance(3)
            second = exchange_feed_advance(market=followed_market, timeframe="1m")
            third = exchange_feed_advance(market=followed_market, timeframe="1m")
    finally:
        candles_released.disconnect(dispatch_uid="t-released")

    times = stored_times(followed_market)
    assert times[0] == clock - 50 * MINUTE and times[-1] == clock + 2 * MINUTE  # the forming one is not stored
    assert_contiguous(times)
    assert (first.state, second.state) == (MarketFeed.State.RUNNING, MarketFeed.State.RUNNING)
    assert first.horizon == ms_to_datetime(clock - MINUTE) and second.horizon == ms_to_datetime(clock + 2 * MINUTE)
    assert not third.moved and released == [first.horizon, second.horizon]
    stats = CandleSeriesStats.objects.get(market=followed_market, timeframe="1m")
    assert (stats.bars, stats.gaps, datetime_to_ms(stats.last_open_time)) == (53, 0, clock + 2 * MINUTE)
    assert not CandleImport.objects.exists()  # no import record per tick
    stored = Candle.objects.get(market=followed_market, timeframe="1m", open_time=ms_to_datetime(clock))
    expected = {c.open_time: c for c in emu.engine.feed.history("BTC/USDT:USDT")}[clock]
    assert (stored.open, stored.close) == (expected.open, expected.close)

    forming = forming_candle(market=followed_market, timeframe="1m")
    assert forming is not None and datetime_to_ms(forming.open_time) == clock + 3 * MINUTE
    price, _at = market_last_price(market=followed_market)
    assert price == forming.close == emu.engine.feed.current("BTC/USDT:USDT").close


def test_a_first_start_backfills_a_bounded_window_page_by_page_over_several_ticks(
    live_emulator, followed_market, settings, monkeypatch
) -> None:
    settings.MARKET_DATA_BACKFILL_BARS = 250
    settings.MARKET_DATA_TICK_BARS = 200
    monkeypatch.setitem(ccxt_adapter.PAGE_LIMITS, "binanceusdm", 100)
    emu = live_emulator(behind=10)
    clock = emu.engine.feed.clock
    with aimed_at(emu):
        exchange_feed_advance(market=followed_market, timeframe="1m")
        assert len(stored_times(followed_market)) == 200
        assert kline_requests(emu) == 3  # the newest candles, then two pages of 100
        exchange_feed_advance(market=followed_market, timeframe="1m")
    times = stored_times(followed_market)
    assert len(times) == 250 and times[0] == clock - 250 * MINUTE and times[-1] == clock - MINUTE
    assert_contiguous(times)
    assert kline_requests(emu) == 5


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ({"kind": "http_error", "status": 503}, UNREACHABLE),
        ({"kind": "rate_limit"}, RATE_LIMITED),
    ],
)
def test_an_outage_stops_the_feed_and_it_recovers_without_a_hole_or_a_duplicate(
    live_emulator, followed_market, settings, fault, reason
) -> None:
    settings.MARKET_DATA_BACKFILL_BARS = 20
    emu = live_emulator(behind=10)
    with aimed_at(emu):
        exchange_feed_advance(market=followed_market, timeframe="1m")
        emu.faults.add(path="/fapi/v1/klines", count=None, **fault)
        emu.advance(5)
        stopped = exchange_feed_advance(market=followed_market, timeframe="1m")
        assert (stopped.state, stopped.reason, stopped.moved) == (MarketFeed.State.STOPPED, reason, False)
        assert "stopped" in exchange_feed(followed_market).status_line
        emu.faults.clear()
        emu.advance(2)
        recovered = exchange_feed_advance(market=followed_market, timeframe="1m")
    assert (recovered.state, recovered.reason) == (MarketFeed.State.RUNNING, "")
    times = stored_times(followed_market)
    assert len(times) == 27 and times[-1] == emu.engine.feed.clock - MINUTE
    assert_contiguous(times)


def test_an_unreachable_exchange_is_reported_in_plain_words(followed_market) -> None:
    def nowhere(client) -> None:
        client.urls["api"] = {key: "http://127.0.0.1:9/unreachable" for key in client.urls["api"]}

    with factory.override_client(nowhere, enable_rate_limit=False, timeout_ms=500, retry=FAST_RETRY):
        tick = exchange_feed_advance(market=followed_market, timeframe="1m")
    assert (tick.state, tick.reason) == (MarketFeed.State.STOPPED, UNREACHABLE)
    assert exchange_feed(followed_market).status_line.endswith(": exchange unreachable")


def test_a_symbol_the_exchange_does_not_list_stops_only_its_own_feed(live_emulator, followed_market) -> None:
    delisted = MarketFactory(symbol="DOGE/USDT:USDT", base="DOGE")
    emu = live_emulator(behind=10)
    with aimed_at(emu):
        tick = exchange_feed_advance(market=delisted, timeframe="1m")
        fine = exchange_feed_advance(market=followed_market, timeframe="1m")
    assert (tick.state, tick.reason) == (MarketFeed.State.STOPPED, UNKNOWN_SYMBOL)
    assert fine.state == MarketFeed.State.RUNNING


def test_a_bad_candle_is_rejected_with_its_reason_and_nothing_after_it_is_stored(
    live_emulator, followed_market, settings
) -> None:
    settings.MARKET_DATA_BACKFILL_BARS = 20
    candles = live_candles(behind=10)
    bad_index = 1200 - 5  # five candles before the emulator's clock
    bad = candles[bad_index]
    candles[bad_index] = replace(bad, high=bad.low - Decimal(50))
    emu = live_emulator(candles=candles)
    with aimed_at(emu):
        first = exchange_feed_advance(market=followed_market, timeframe="1m")
        again = exchange_feed_advance(market=followed_market, timeframe="1m")
    assert first.state == MarketFeed.State.STOPPED
    assert first.reason.startswith("bad candle from the exchange: candle ")
    assert "inconsistent OHLC" in first.reason
    times = stored_times(followed_market)
    assert times[-1] == bad.open_time - MINUTE and len(times) == 15
    assert first.horizon == ms_to_datetime(bad.open_time - MINUTE)
    assert (again.state, again.reason, stored_times(followed_market)) == (first.state, first.reason, times)


def test_pushed_candles_are_stored_after_the_gap_before_them_is_fetched(
    live_emulator, followed_market, settings
) -> None:
    settings.MARKET_DATA_BACKFILL_BARS = 20
    emu = live_emulator(behind=10)
    with aimed_at(emu):
        exchange_feed_advance(market=followed_market, timeframe="1m")
        emu.advance(6)
        history = emu.engine.feed.history("BTC/USDT:USDT")[-3:-1]  # two closed candles; the forming one is last
        pushed = rows_of(history)
        requests = kline_requests(emu)
        tick = exchange_feed_advance(market=followed_market, timeframe="1m", pushed=pushed)
        assert kline_requests(emu) > requests  # the four candles before them came through REST
        again = exchange_feed_advance(market=followed_market, timeframe="1m", pushed=pushed)
        requests = kline_requests(emu)
        emu.advance(1)
        nxt = emu.engine.feed.history("BTC/USDT:USDT")[-2]
        direct = rows_of([nxt])
        exchange_feed_advance(market=followed_market, timeframe="1m", pushed=direct)
        assert kline_requests(emu) == requests  # it follows the horizon: no request
    assert tick.horizon == ms_to_datetime(history[-1].open_time) and not again.moved
    times = stored_times(followed_market)
    assert len(times) == 27 and times[-1] == nxt.open_time
    assert_contiguous(times)


def test_the_scheduled_collection_ticks_exchange_feeds_beside_the_replay(live_emulator, followed_market, settings):
    settings.MARKET_DATA_BACKFILL_BARS = 20
    emu = live_emulator(behind=10)
    with aimed_at(emu):
        ticks = market_data_collect()
    exchange_ticks = [tick for tick in ticks if tick.source == MarketFeed.Source.EXCHANGE]
    assert [(t.market_id, t.timeframe, t.state) for t in exchange_ticks] == [
        (followed_market.pk, "1m", MarketFeed.State.RUNNING)
    ]
    assert len(stored_times(followed_market)) == 20


def test_an_unreachable_exchange_is_asked_once_a_tick_and_a_bad_market_stops_only_itself(
    live_emulator, followed_market, settings
) -> None:
    settings.MARKET_DATA_BACKFILL_BARS = 20
    eth = MarketFactory(symbol="ETH/USDT:USDT", base="ETH")
    delisted = MarketFactory(symbol="DOGE/USDT:USDT", base="DOGE")
    for market in (eth, delisted):
        market_follow(market=market, timeframe="1m")
    emu = live_emulator(behind=10)
    with aimed_at(emu):
        first = {tick.market_id: tick for tick in market_data_collect() if tick.source == "exchange"}
        emu.faults.http_error(503, path="/fapi/v1/klines", count=None)
        requests = kline_requests(emu)
        second = {tick.market_id: tick for tick in market_data_collect() if tick.source == "exchange"}
    assert first[delisted.pk].reason == UNKNOWN_SYMBOL
    assert first[eth.pk].state == first[followed_market.pk].state == MarketFeed.State.RUNNING
    assert {tick.reason for pk, tick in second.items() if pk != delisted.pk} == {UNREACHABLE}
    assert kline_requests(emu) - requests == FAST_RETRY.attempts  # one feed's retries; the others were spared


def test_a_tick_starts_no_feed_once_its_time_is_spent(live_emulator, followed_market, settings) -> None:
    settings.MARKET_DATA_TICK_SECONDS = 0
    emu = live_emulator(behind=10)
    with aimed_at(emu):
        ticks = market_data_collect()
    assert [tick for tick in ticks if tick.source == MarketFeed.Source.EXCHANGE] == []
    assert kline_requests(emu) == 0


def test_old_stored_history_does_not_make_a_first_start_fetch_more_than_the_backfill(
    live_emulator, followed_market, settings
) -> None:
    settings.MARKET_DATA_BACKFILL_BARS = 30
    emu = live_emulator(behind=10)
    clock = emu.engine.feed.clock
    old = [[clock - 500 * MINUTE + i * MINUTE, 100.0, 101.0, 99.0, 100.5, 1.0] for i in range(3)]
    candles_append(market=followed_market, timeframe="1m", candles=CandleArrays.from_rows(old))
    with aimed_at(emu):
        tick = exchange_feed_advance(market=followed_market, timeframe="1m")
    times = stored_times(followed_market)
    assert len(times) == 33 and times[3] == clock - 30 * MINUTE and tick.horizon == ms_to_datetime(clock - MINUTE)
    stats = CandleSeriesStats.objects.get(market=followed_market, timeframe="1m")
    assert (stats.bars, stats.gaps) == (33, 1)


def test_gate_candles_are_collected_in_base_units_on_every_followed_timeframe(live_emulator, settings) -> None:
    settings.MARKET_DATA_BACKFILL_BARS = 12
    market = MarketFactory(exchange="gate", price_precision=Decimal("0.1"))
    ExchangeAccountFactory(exchange="gate", mode="paper", price_source="live")
    market_follow(market=market, timeframe="5m")
    emu = live_emulator(behind=0, exchange="gate")
    with aimed_at(emu):
        ticks = market_data_collect()
    assert {(t.timeframe, t.state) for t in ticks if t.source == "exchange"} == {("1m", "running"), ("5m", "running")}
    history = {c.open_time: c for c in emu.engine.feed.history("BTC/USDT:USDT", 5 * MINUTE)}
    five = Candle.objects.filter(market=market, timeframe="5m").order_by("open_time")
    assert five.count() == 12
    for candle in five:
        expected = history[datetime_to_ms(candle.open_time)]
        assert abs(candle.high - expected.high) < Decimal("0.1")  # Gate's tick here is 0.1
        # Gate counts whole contracts (0.0001 BTC each): the stored volume is in BTC, to the contract.
        assert abs(candle.volume - expected.volume) <= Decimal("0.0001") * 12


def test_a_pushed_batch_that_skips_or_repeats_a_candle_is_cut_there_and_the_rest_fetched(
    live_emulator, followed_market, settings
) -> None:
    settings.MARKET_DATA_BACKFILL_BARS = 20
    emu = live_emulator(behind=10)
    with aimed_at(emu):
        exchange_feed_advance(market=followed_market, timeframe="1m")
        emu.advance(4)
        c1, c2, c3, c4 = emu.engine.feed.history("BTC/USDT:USDT")[-5:-1]
        tick = exchange_feed_advance(market=followed_market, timeframe="1m", pushed=rows_of([c1, c3, c3, c4]))
        assert tick.horizon == ms_to_datetime(c1.open_time)  # stored as it came: c1 only
        exchange_feed_advance(market=followed_market, timeframe="1m")
    times = stored_times(followed_market)
    assert times[-1] == c4.open_time and len(times) == 24
    assert_contiguous(times)
