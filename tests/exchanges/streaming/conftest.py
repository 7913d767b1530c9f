"""Shared by the streaming tests: fast engine settings, the emulator with its websocket front, and a
helper that runs the engine while a scenario drives the emulator."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from apps.exchanges.emulator import ExchangeEmulator, testing
from apps.exchanges.streaming.engine import Row, Series, StreamEngine, StreamSettings
from tests.exchanges.collect import conftest as collect_conftest

# The collection tests' fixtures (assigned, not imported, as apps.exchanges.emulator.testing explains).
emulator_factory = testing.emulator_factory
live_emulator = collect_conftest.live_emulator
followed_market = collect_conftest.followed_market
_empty_market_cache = collect_conftest._empty_market_cache
MINUTE = 60_000
FAST = StreamSettings(
    poll_seconds=0.05,
    refresh_seconds=0.05,
    backoff_base_seconds=0.01,
    backoff_cap_seconds=0.05,
    failures_before_polling=3,
    polling_before_retry_seconds=0.3,
)
TIMEOUT = 10


class RecordingSink:
    """Records what the engine hands on; thread-safe (the engine calls it on its database thread)."""

    def __init__(self, series: list[Series]) -> None:
        self.wanted = series
        self.closed_rows: list[Row] = []
        self.polls = 0
        self.forming_rows: list[Row] = []
        self.prices: list[float] = []
        self.lock = threading.Lock()

    def series(self, *, exchange: str | None) -> list[Series]:
        return [s for s in self.wanted if exchange in (None, s.exchange)]

    def closed(self, *, series: Series, rows: list[Row]) -> None:
        with self.lock:
            self.closed_rows += rows

    def poll(self, *, series: Series) -> None:
        with self.lock:
            self.polls += 1

    def forming(self, *, series: Series, row: Row) -> None:
        with self.lock:
            self.forming_rows.append(row)

    def last_price(self, *, series: Series, price: float) -> None:
        with self.lock:
            self.prices.append(price)


async def until(condition: Callable[[], bool], *, timeout: float = TIMEOUT) -> None:
    """Wait for `condition` (synchronous: it may read the database, on the test's thread)."""
    check = sync_to_async(condition)

    async def poll() -> None:
        while not await check():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)


def run_engine(engine: StreamEngine, scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run the engine while `scenario` drives the emulator; stop it cleanly afterwards.

    Through async_to_sync: the engine's database calls (thread-sensitive) then run on the test's own thread,
    inside its transaction, as they run on the command's one database thread."""

    async def main() -> None:
        stop = asyncio.Event()
        running = asyncio.create_task(engine.run(stop))
        try:
            await scenario()
        finally:
            stop.set()
            await asyncio.wait_for(running, TIMEOUT)

    async_to_sync(main)()


def emulator_now(emulator: ExchangeEmulator) -> Callable[[], int]:
    """The emulator's clock, inside its current candle (its candles need not be today's)."""
    return lambda: emulator.engine.feed.clock + 1_000


@contextmanager
def streaming(emulator: ExchangeEmulator, **adapter_options: Any) -> Iterator[None]:
    """Start the emulator's websocket front and aim every ccxt client, ccxt.pro ones included, at it."""
    emulator.start_streams()
    with testing.aimed_at(emulator, **adapter_options):
        yield


@pytest.fixture(autouse=True)
def _keep_the_test_connection(monkeypatch) -> None:
    """The sink drops stale connections before each refresh; inside a test's transaction that would close the
    test's own connection (PostgreSQL), so it is left alone, as Django's test client does for requests."""
    monkeypatch.setattr("apps.exchanges.streaming.sink.close_old_connections", lambda: None)


@pytest.fixture
def streaming_emulator() -> Iterator[ExchangeEmulator]:
    with testing.running_emulator("binanceusdm") as emulator, streaming(emulator):
        yield emulator
