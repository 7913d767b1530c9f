"""Streaming into the database: the engine, the real ccxt.pro client on the emulator's websocket front, and the
REST collector's entry point (the one storing path). Polling through the collector is tested as well."""

from __future__ import annotations

import asyncio
import random

import numpy as np
import pytest
from asgiref.sync import sync_to_async

from apps.exchanges.collect import exchange_feed_advance
from apps.exchanges.emulator import ExchangeEmulator
from apps.exchanges.streaming.clients import pro_client
from apps.exchanges.streaming.engine import Series, StreamEngine, StreamSettings
from apps.exchanges.streaming.sink import CollectorSink
from apps.market.candles_io import datetime_to_ms
from apps.market.events import candles_released
from apps.market.livecache import market_cache
from apps.market.models import Candle, MarketFeed
from apps.market.selectors import forming_candle, market_last_price
from tests.exchanges.adapters.conftest import FAST_RETRY
from tests.exchanges.collect.conftest import kline_requests
from tests.exchanges.streaming.conftest import FAST, MINUTE, emulator_now, run_engine, streaming, until

pytestmark = pytest.mark.django_db


@pytest.fixture
def streamed(live_emulator, followed_market, settings):
    """A Binance USDⓈ-M emulator a few minutes behind the wall clock, streaming, with the market's feed
    collected once through REST (its horizon is the last closed candle). The cache is emptied afterwards, so
    that a forming candle in it means the stream is on."""
    settings.MARKET_DATA_BACKFILL_BARS = 20
    emulator = live_emulator(behind=10)
    with streaming(emulator, enable_rate_limit=False, timeout_ms=3000, retry=FAST_RETRY):
        exchange_feed_advance(market=followed_market, timeframe="1m")
        market_cache().clear()
        yield emulator


def stored_times(market) -> list[int]:
    times = Candle.objects.filter(market=market, timeframe="1m").order_by("open_time")
    return [datetime_to_ms(moment) for moment in times.values_list("open_time", flat=True)]


def horizon(market) -> int:
    feed = MarketFeed.objects.get(market=market, timeframe="1m", source=MarketFeed.Source.EXCHANGE)
    return datetime_to_ms(feed.horizon)


def forming_time(market) -> int | None:
    forming = forming_candle(market=market, timeframe="1m")
    return datetime_to_ms(forming.open_time) if forming is not None else None


def engine(emulator: ExchangeEmulator, *, settings: StreamSettings = FAST) -> StreamEngine:
    return StreamEngine(
        sink=CollectorSink(),
        client_factory=pro_client,
        settings=settings,
        now_ms=emulator_now(emulator),
        rng=random.Random(3),
    )


async def advance(emulator: ExchangeEmulator, steps: int = 1) -> None:
    for _ in range(steps):
        await asyncio.to_thread(emulator.advance, 1)


def test_streamed_candles_are_stored_once_contiguous_and_released_like_polled_ones(streamed, followed_market) -> None:
    emulator, market = streamed, followed_market
    clock = emulator.engine.feed.clock
    before = kline_requests(emulator)
    released: list[object] = []
    candles_released.connect(lambda **kw: released.append(kw["horizon"]), weak=False, dispatch_uid="t-stream")

    async def scenario() -> None:
        await until(lambda: forming_candle(market=market, timeframe="1m") is not None)
        for step in range(1, 4):
            await advance(emulator)
            await until(lambda step=step: horizon(market) == clock + (step - 1) * MINUTE)
        await until(lambda: forming_time(market) == clock + 3 * MINUTE)

    try:
        run_engine(engine(emulator), scenario)
    finally:
        candles_released.disconnect(dispatch_uid="t-stream")
    times = stored_times(market)
    assert times[-1] == clock + 2 * MINUTE
    assert np.all(np.diff(times) == MINUTE), "a hole or a duplicate"
    assert kline_requests(emulator) == before  # every new candle came over the websocket
    assert len(released) == 3  # one candles_released per closed candle, as a poll would send
    history = {c.open_time: c for c in emulator.engine.feed.history("BTC/USDT:USDT")}
    stored = Candle.objects.filter(market=market, timeframe="1m").order_by("-open_time").first()
    assert stored is not None and stored.close == history[clock + 2 * MINUTE].close
    price = market_last_price(market=market)
    assert price is not None and price[0] == emulator.price("BTC/USDT:USDT")


def test_a_dropped_connection_reconnects_and_the_gap_is_backfilled_through_rest(streamed, followed_market) -> None:
    emulator, market = streamed, followed_market
    clock = emulator.engine.feed.clock

    async def scenario() -> None:
        await until(lambda: forming_candle(market=market, timeframe="1m") is not None)
        await advance(emulator)
        await until(lambda: horizon(market) == clock)
        assert emulator.streams is not None
        await asyncio.to_thread(emulator.streams.drop_connections)
        await advance(emulator, 2)  # two candles close while nobody listens
        await until(
            lambda: forming_candle(market=market, timeframe="1m").open_time.timestamp() * 1000 >= clock + 3 * MINUTE
        )
        rest_before = kline_requests(emulator)
        await advance(emulator)
        await until(lambda: horizon(market) == clock + 3 * MINUTE)
        assert kline_requests(emulator) > rest_before  # the two missed candles came through REST

    run_engine(engine(emulator), scenario)
    times = stored_times(market)
    assert times[-1] == clock + 3 * MINUTE
    assert np.all(np.diff(times) == MINUTE), "a hole or a duplicate"


def test_the_scheduled_rest_collection_beside_the_stream_never_stores_a_candle_twice(streamed, followed_market) -> None:
    emulator, market = streamed, followed_market
    clock = emulator.engine.feed.clock

    async def scenario() -> None:
        await until(lambda: forming_candle(market=market, timeframe="1m") is not None)
        for step in range(1, 4):
            await advance(emulator)
            # The worker's minute tick collects the same candle beside the stream (on the test's database
            # thread: one in-memory SQLite database cannot be shared with another thread inside a test).
            await sync_to_async(exchange_feed_advance)(market=market, timeframe="1m")
            await until(lambda step=step: horizon(market) == clock + (step - 1) * MINUTE)

    run_engine(engine(emulator), scenario)
    # And the stream pushing candles already stored stores nothing.
    series = Series(exchange="binanceusdm", symbol="BTC/USDT:USDT", timeframe="1m", market_id=market.pk)
    history = emulator.engine.feed.history("BTC/USDT:USDT")[-4:-1]
    sink = CollectorSink()
    sink.series(exchange=None)
    sink.closed(series=series, rows=[[c.open_time, c.open, c.high, c.low, c.close, c.volume] for c in history])
    times = stored_times(market)
    assert len(times) == len(set(times)) and times[-1] == clock + 2 * MINUTE
    assert np.all(np.diff(times) == MINUTE)


def test_polling_collects_through_the_rest_collector(streamed, followed_market) -> None:
    emulator, market = streamed, followed_market
    clock = emulator.engine.feed.clock

    async def scenario() -> None:
        await advance(emulator, 2)
        await until(lambda: horizon(market) == clock + MINUTE)

    run_engine(engine(emulator, settings=StreamSettings(**{**vars(FAST), "poll_only": True})), scenario)
    assert emulator.streams is not None and not emulator.streams._subscribers
    times = stored_times(market)
    assert times[-1] == clock + MINUTE and np.all(np.diff(times) == MINUTE)
