"""The stream engine against the emulator's websocket front, through the real ccxt.pro client; the database
side is a recording sink here (test_streaming.py stores through the collector)."""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Callable
from typing import Any

import pytest

from apps.exchanges.adapters import factory
from apps.exchanges.emulator import testing
from apps.exchanges.streaming.clients import pro_client
from apps.exchanges.streaming.engine import CandleTracker, Row, Series, StreamEngine, StreamSettings, backoff_seconds
from tests.exchanges.streaming.conftest import (
    FAST,
    MINUTE,
    TIMEOUT,
    RecordingSink,
    emulator_now,
    run_engine,
    until,
)

SYMBOL = "BTC/USDT:USDT"
SERIES = Series(exchange="binanceusdm", symbol=SYMBOL, timeframe="1m", market_id=1)


def engine_for(sink: RecordingSink, *, settings: StreamSettings = FAST, now_ms: Callable[[], int]) -> StreamEngine:
    return StreamEngine(sink=sink, client_factory=pro_client, settings=settings, now_ms=now_ms, rng=random.Random(1))


def test_streamed_candles_close_when_the_next_opens_contiguous_and_once(streaming_emulator) -> None:
    emulator = streaming_emulator
    sink = RecordingSink([SERIES])
    start = emulator.engine.feed.clock

    async def scenario() -> None:
        await until(lambda: sink.forming_rows and sink.prices)
        for _ in range(3):
            await asyncio.to_thread(emulator.advance, 1)
            await asyncio.sleep(0.05)
        await until(lambda: len(sink.closed_rows) == 3)

    run_engine(engine_for(sink, now_ms=emulator_now(emulator)), scenario)
    assert [row[0] for row in sink.closed_rows] == [start, start + MINUTE, start + 2 * MINUTE]
    rest = emulator.ccxt_client().fetch_ohlcv(SYMBOL, "1m", since=start, limit=3)
    assert sink.closed_rows == rest  # the streamed candles are the exchange's closed candles
    assert sink.forming_rows[-1][0] == start + 3 * MINUTE
    assert sink.polls == 0


def test_a_dropped_connection_reconnects_and_leaves_the_missed_candles_to_rest(streaming_emulator, caplog) -> None:
    emulator = streaming_emulator
    sink = RecordingSink([SERIES])
    start = emulator.engine.feed.clock

    async def scenario() -> None:
        await until(lambda: bool(sink.forming_rows))
        await asyncio.to_thread(emulator.advance, 1)
        await until(lambda: len(sink.closed_rows) == 1)
        # While the socket is down the exchange moves on two candles; nobody hears their last updates.
        assert emulator.streams is not None
        await asyncio.to_thread(emulator.streams.drop_connections)
        await asyncio.to_thread(emulator.advance, 2)
        await until(lambda: sink.forming_rows[-1][0] == start + 3 * MINUTE)
        await asyncio.to_thread(emulator.advance, 1)
        await until(lambda: sink.closed_rows[-1][0] == start + 3 * MINUTE)

    with caplog.at_level("INFO", logger="apps.exchanges.streaming.engine"):
        run_engine(engine_for(sink, now_ms=emulator_now(emulator)), scenario)
    assert any(
        "stream failed (NetworkError" in r.getMessage() and "reconnecting in" in r.getMessage() for r in caplog.records
    )
    # The candles of the outage are not handed on from the stream's stale cache: the collector
    # backfills them through REST when the next pushed candle does not follow its horizon.
    assert [row[0] for row in sink.closed_rows] == [start, start + 3 * MINUTE]


def test_a_socket_closed_while_the_engine_was_busy_is_noticed_and_its_stale_candle_not_handed_on(
    streaming_emulator,
) -> None:
    emulator = streaming_emulator
    start = emulator.engine.feed.clock
    busy = threading.Event()

    class SlowSink(RecordingSink):
        def forming(self, *, series: Series, row: Row) -> None:
            busy.wait(TIMEOUT)  # the engine waits on the database, not on the socket
            super().forming(series=series, row=row)

    sink = SlowSink([SERIES])
    busy.set()

    async def scenario() -> None:
        await until(lambda: bool(sink.forming_rows))
        busy.clear()
        await asyncio.sleep(0.3)  # the next update's forming() now blocks (updates come every 0.1 s)
        assert emulator.streams is not None
        await asyncio.to_thread(emulator.streams.drop_connections)
        await asyncio.to_thread(emulator.advance, 2)
        busy.set()  # ccxt reconnects on the engine's next watch, without raising
        await until(lambda: sink.forming_rows[-1][0] == start + 2 * MINUTE)
        await asyncio.to_thread(emulator.advance, 1)
        await until(lambda: bool(sink.closed_rows))

    run_engine(engine_for(sink, now_ms=emulator_now(emulator)), scenario)
    # Candle `start` was last heard of before the socket closed: the collector fetches it through REST.
    assert [row[0] for row in sink.closed_rows] == [start + 2 * MINUTE]


def test_poll_only_polls_through_rest_and_opens_no_socket(streaming_emulator) -> None:
    sink = RecordingSink([SERIES])

    async def scenario() -> None:
        await until(lambda: sink.polls >= 3)

    settings = StreamSettings(**{**vars(FAST), "poll_only": True})
    run_engine(engine_for(sink, settings=settings, now_ms=emulator_now(streaming_emulator)), scenario)
    assert sink.closed_rows == [] and sink.prices == []


def test_a_stream_that_keeps_failing_falls_back_to_polling_then_tries_again(caplog) -> None:
    # A port nobody listens on: every connection is refused.
    with testing.running_emulator("binanceusdm") as emulator:
        emulator.start_streams()
        assert emulator.streams is not None
        emulator.streams.stop()
        emulator.streams = None  # stopped: configure_ccxt_client below still points ccxt at its old port

        def hook(client: Any) -> None:
            testing.configure_ccxt_client(client, emulator)
            client.urls["api"]["ws"] = {"linear": "ws://127.0.0.1:9/ws"}

        sink = RecordingSink([SERIES])

        async def scenario() -> None:
            await until(lambda: sink.polls >= 2)

        with factory.override_client(hook), caplog.at_level("INFO", logger="apps.exchanges.streaming.engine"):
            run_engine(engine_for(sink, now_ms=emulator_now(emulator)), scenario)
    messages = [record.getMessage() for record in caplog.records]
    assert any("reconnecting in" in message for message in messages)
    assert any("failed 3 times in a row" in message and "polling it through REST" in message for message in messages)


def test_the_set_of_series_is_refreshed_without_a_restart(streaming_emulator) -> None:
    sink = RecordingSink([])
    eth = Series(exchange="binanceusdm", symbol="ETH/USDT:USDT", timeframe="1m", market_id=2)

    async def scenario() -> None:
        await asyncio.sleep(0.1)
        assert not sink.forming_rows
        sink.wanted = [eth]
        await until(lambda: bool(sink.forming_rows))

    run_engine(engine_for(sink, now_ms=emulator_now(streaming_emulator)), scenario)
    assert sink.forming_rows[-1][4] == float(streaming_emulator.price("ETH/USDT:USDT"))


# --- the pure parts -----------------------------------------------------------------------------------------


def test_tracker_closes_a_candle_when_the_next_opens_or_its_close_time_passed() -> None:
    tracker = CandleTracker(timeframe_ms=MINUTE, grace_ms=2_000)
    assert tracker.update([[0, 1, 1, 1, 1, 1]], now_ms=30_000) == ([], [0, 1, 1, 1, 1, 1])
    assert tracker.update([[0, 1, 2, 1, 2, 1], [MINUTE, 2, 2, 2, 2, 1]], now_ms=61_000) == (
        [[0, 1, 2, 1, 2, 1]],
        [MINUTE, 2, 2, 2, 2, 1],
    )
    # No newer candle, but the close time (plus the grace) has passed: closed, nothing forming.
    assert tracker.update([[0, 1, 2, 1, 2, 1], [MINUTE, 2, 3, 2, 3, 1]], now_ms=2 * MINUTE + 2_000) == (
        [[MINUTE, 2, 3, 2, 3, 1]],
        None,
    )


def test_tracker_after_a_reconnect_hands_on_nothing_older_than_the_first_candle_of_the_new_connection() -> None:
    tracker = CandleTracker(timeframe_ms=MINUTE, grace_ms=0)
    tracker.update([[0, 1, 1, 1, 1, 1]], now_ms=1)
    tracker.reconnected()
    # Candle 0's last update came before the disconnection: it may have missed its final one.
    assert tracker.update([[0, 1, 1, 1, 1, 1], [3 * MINUTE, 2, 2, 2, 2, 1]], now_ms=3 * MINUTE + 1) == (
        [],
        [3 * MINUTE, 2, 2, 2, 2, 1],
    )
    closed, _ = tracker.update([[0, 1, 1, 1, 1, 1], [3 * MINUTE, 2, 2, 2, 2, 1], [4 * MINUTE, 3, 3, 3, 3, 1]], now_ms=0)
    assert closed == [[3 * MINUTE, 2, 2, 2, 2, 1]]


@pytest.mark.parametrize("failures", [1, 2, 5, 30])
def test_backoff_grows_exponentially_with_jitter_and_stays_bounded(failures: int) -> None:
    rng = random.Random(failures)
    ceiling = min(60.0, 2.0 ** (failures - 1))
    delays = [backoff_seconds(failures, base=1.0, cap=60.0, rng=rng) for _ in range(50)]
    assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
    assert len(set(delays)) > 1
