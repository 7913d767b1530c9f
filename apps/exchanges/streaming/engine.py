"""The stream engine: one asyncio process watching every collected series over the exchanges' websockets.

Per exchange one keyless ccxt.pro client watches `watch_ohlcv(symbol, timeframe)` for each collected
series and `watch_ticker(symbol)` for each of their symbols. A candle is closed once a newer open time
arrives (or its close time has passed); closed candles go to the REST collector's entry point, which
stores them once and backfills through REST whatever lies between the feed's horizon and the first pushed
candle. So candles reach strategies the same way whichever path brought them. The forming candle and the
last price go to the cache.

Where ccxt.pro cannot watch a series (`client.has["watchOHLCV"]` is false), where the operator asked for
polling, or where the connection keeps failing, the series is polled through the REST collector instead;
after a failure streak the engine tries the websocket again later. Between failures it reconnects with
exponential backoff and jitter.

The engine knows nothing of Django: it talks to a `Sink` (sink.py for the real one) whose synchronous
methods it runs through `sync_to_async(thread_sensitive=True)`, so database work never blocks the event
loop and always runs on one thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from asgiref.sync import sync_to_async

from apps.market.timeframes import timeframe_ms

logger = logging.getLogger(__name__)

Row = list[float]  # [open_time_ms, open, high, low, close, volume], as ccxt returns OHLCV
T = TypeVar("T")


@dataclass(frozen=True, order=True)
class Series:
    """One collected series: a market's candles of one timeframe on its exchange."""

    exchange: str
    symbol: str
    timeframe: str
    market_id: int


class Sink(Protocol):
    """Where the engine hands what it sees; every method is synchronous and may touch the database."""

    def series(self, *, exchange: str | None) -> list[Series]:
        """The series to collect now (of one exchange, or of all)."""

    def closed(self, *, series: Series, rows: list[Row]) -> None:
        """Store closed candles, oldest first; the gap before them is backfilled through REST."""

    def poll(self, *, series: Series) -> None:
        """Collect the series' newly closed candles through REST."""

    def forming(self, *, series: Series, row: Row) -> None:
        """Remember the candle that is still forming."""

    def last_price(self, *, series: Series, price: float) -> None:
        """Remember the series' market's last traded price."""


class ClientFactory(Protocol):
    def __call__(self, exchange: str) -> Any:
        """A ccxt.pro client for `exchange` (keyless, rate limited)."""


@dataclass(frozen=True)
class StreamSettings:
    poll_seconds: float = 10.0  # how often a polled series is collected through REST
    refresh_seconds: float = 60.0  # how often the set of series is read again
    backoff_base_seconds: float = 1.0
    backoff_cap_seconds: float = 60.0
    failures_before_polling: int = 5  # consecutive connection failures before a series falls back to polling
    polling_before_retry_seconds: float = 300.0  # how long a failing series polls before the websocket again
    close_grace_ms: int = 2_000  # a candle whose close time passed this long ago is closed without a newer one
    poll_only: bool = False


def backoff_seconds(failures: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with "equal jitter": between half and all of min(cap, base * 2^(failures-1))."""
    ceiling = min(cap, base * 2 ** max(0, failures - 1))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


@dataclass
class CandleTracker:
    """Tells closed candles from the forming one in what `watch_ohlcv` returns (the whole cached series).

    Every kline message carries its candle's whole state so far, so a candle's last update before the next
    one opened is its final state, provided no update was lost. ccxt keeps the cached candles across
    reconnects, and a candle last updated before a disconnection may have missed its final update: after a
    reconnect, candles older than the first one seen on the new connection are not handed on, and the
    collector backfills them through REST.
    """

    timeframe_ms: int
    grace_ms: int
    last_closed: int = -1  # open time of the newest candle handed on
    floor: int | None = None  # open time of the first candle seen on the current connection

    def reconnected(self) -> None:
        self.floor = None

    def update(self, rows: list[Row], *, now_ms: int) -> tuple[list[Row], Row | None]:
        """The newly closed candles (oldest first) and the forming one, if any."""
        if not rows:
            return [], None
        newest = int(rows[-1][0])
        if self.floor is None:
            self.floor = newest
        fresh = []
        for row in reversed(rows):  # only the tail is new; the cache holds up to a thousand candles
            if row[0] <= self.last_closed or row[0] < self.floor:
                break
            fresh.append(row)
        fresh.reverse()
        closed = [row for row in fresh if row[0] < newest or row[0] + self.timeframe_ms + self.grace_ms <= now_ms]
        if closed:
            self.last_closed = int(closed[-1][0])
        return closed, rows[-1] if newest > self.last_closed else None


@dataclass
class _Exchange:
    client: Any = None
    tasks: dict[tuple[str, ...], asyncio.Task[None]] = field(default_factory=dict)


class StreamEngine:
    """Streams (or polls) every collected series until `stop` is set."""

    def __init__(
        self,
        *,
        sink: Sink,
        client_factory: ClientFactory,
        settings: StreamSettings,
        exchange: str | None = None,
        now_ms: Callable[[], int] = lambda: int(time.time() * 1000),
        rng: random.Random | None = None,
    ) -> None:
        self.sink = sink
        self.client_factory = client_factory
        self.settings = settings
        self.exchange = exchange
        self.now_ms = now_ms
        self.rng = rng or random.Random()
        self._exchanges: dict[str, _Exchange] = {}
        self._series_count: int | None = None

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                await self.refresh()
                await _wait(stop, self.settings.refresh_seconds)
        finally:
            await self.shutdown()

    async def refresh(self) -> None:
        """Start watching new series and stop watching the ones no longer collected."""
        try:
            wanted = await self._db(self.sink.series, exchange=self.exchange)
        except Exception:
            logger.exception("Could not read the series to collect; keeping the current ones")
            return
        self._say_what_is_collected(len(wanted))
        keys = {key for series in wanted for key in self._task_keys(series)}
        for exchange in self._exchanges.values():
            for key in [key for key in exchange.tasks if key not in keys]:
                logger.info("No longer collecting %s", " ".join(key[1:]))
                exchange.tasks.pop(key).cancel()
        for series in sorted(wanted):
            for key in self._task_keys(series):
                exchange = await self._exchange(series.exchange)
                if key not in exchange.tasks:
                    exchange.tasks[key] = asyncio.create_task(self._task(key, series, exchange.client))

    def _say_what_is_collected(self, count: int) -> None:
        if count == self._series_count:
            return
        self._series_count = count
        if count:
            logger.info("Collecting %d series", count)
        else:
            logger.info(
                "Nothing to collect: no account needs live prices, or nothing is followed; checking every %.0f s",
                self.settings.refresh_seconds,
            )

    def _task_keys(self, series: Series) -> list[tuple[str, ...]]:
        ohlcv = ("ohlcv", series.exchange, series.symbol, series.timeframe)
        return [ohlcv] if self.settings.poll_only else [ohlcv, ("ticker", series.exchange, series.symbol)]

    async def _exchange(self, name: str) -> _Exchange:
        exchange = self._exchanges.get(name)
        if exchange is None:
            client = None if self.settings.poll_only else self.client_factory(name)
            if client is not None:
                client.newUpdates = False  # the tracker reads the whole cached series, not only what changed
            exchange = self._exchanges[name] = _Exchange(client)
        return exchange

    def _task(self, key: tuple[str, ...], series: Series, client: Any) -> Coroutine[Any, Any, None]:
        if key[0] == "ticker":
            return self._watch_ticker(series, client)
        if client is None:
            logger.info("Polling %s %s on %s: polling only was asked for", *_names(series))
            return self._poll_forever(series)
        if not client.has.get("watchOHLCV"):
            logger.info("Polling %s %s on %s: ccxt offers no candle stream there", *_names(series))
            return self._poll_forever(series)
        return self._stream_candles(series, client)

    async def shutdown(self) -> None:
        tasks = [task for exchange in self._exchanges.values() for task in exchange.tasks.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for name, exchange in self._exchanges.items():
            if exchange.client is not None:
                await exchange.client.close()
                logger.info("Closed the %s connection", name)
        self._exchanges.clear()

    # --- candles ------------------------------------------------------------------------------------------
    async def _stream_candles(self, series: Series, client: Any) -> None:
        label = f"{series.symbol} {series.timeframe} on {series.exchange}"
        tracker = CandleTracker(timeframe_ms(series.timeframe), self.settings.close_grace_ms)
        failures = 0
        connections: set[Any] = set()
        while True:
            try:
                rows = await client.watch_ohlcv(series.symbol, series.timeframe)
            except Exception as exc:  # ccxt raises NetworkError, ExchangeError, or the socket's own errors
                failures += 1
                tracker.reconnected()
                if failures >= self.settings.failures_before_polling:
                    await self._poll_after_failures(series, label, failures, exc)
                    failures = 0
                else:
                    await self._back_off(label, failures, exc)
                continue
            # ccxt reconnects by itself on the next watch when a socket closed while nobody was waiting on it:
            # a connection seen before and gone now means one did.
            current = set(client.clients.values())
            if not connections <= current:
                tracker.reconnected()
            connections = current
            if tracker.floor is None:
                logger.info("Streaming %s", label)
            failures = 0
            closed, forming = tracker.update(rows, now_ms=self.now_ms())
            if closed:
                await self._hand_on(self.sink.closed, series=series, rows=closed)
            if forming is not None:
                await self._hand_on(self.sink.forming, series=series, row=forming)

    async def _back_off(self, label: str, failures: int, exc: Exception) -> None:
        settings = self.settings
        delay = backoff_seconds(
            failures, base=settings.backoff_base_seconds, cap=settings.backoff_cap_seconds, rng=self.rng
        )
        logger.warning("The %s stream failed (%s); reconnecting in %.1f s", label, _reason(exc), delay)
        await asyncio.sleep(delay)

    async def _poll_after_failures(self, series: Series, label: str, failures: int, exc: Exception) -> None:
        seconds = self.settings.polling_before_retry_seconds
        logger.warning(
            "The %s stream failed %d times in a row (last: %s); polling it through REST for %.0f s, "
            "then trying the stream again",
            label,
            failures,
            _reason(exc),
            seconds,
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._poll_forever(series), timeout=seconds)

    async def _poll_forever(self, series: Series) -> None:
        while True:
            await self._hand_on(self.sink.poll, series=series)
            await asyncio.sleep(self.settings.poll_seconds)

    # --- last prices --------------------------------------------------------------------------------------
    async def _watch_ticker(self, series: Series, client: Any) -> None:
        if not client.has.get("watchTicker"):
            logger.info("No price stream on %s; last prices come from the REST collection", series.exchange)
            return
        label = f"{series.symbol} price on {series.exchange}"
        failures = 0
        while True:
            try:
                ticker = await client.watch_ticker(series.symbol)
            except Exception as exc:
                failures += 1
                await self._back_off(label, failures, exc)
                continue
            failures = 0
            if ticker.get("last") is not None:
                await self._hand_on(self.sink.last_price, series=series, price=ticker["last"])

    # --- the database side ----------------------------------------------------------------------------------
    async def _db(self, function: Callable[..., T], **kwargs: Any) -> T:
        return await sync_to_async(function, thread_sensitive=True)(**kwargs)

    async def _hand_on(self, function: Callable[..., None], **kwargs: Any) -> None:
        """Run a sink method; a failure is logged, not raised: the scheduled REST collection heals what it missed."""
        try:
            await self._db(function, **kwargs)
        except Exception:
            logger.exception("%s failed", function.__name__)


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


def _reason(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _names(series: Series) -> tuple[str, str, str]:
    return series.symbol, series.timeframe, series.exchange
