"""`manage.py candles_tail`: print each newly closed candle of one market (and the forming one, marked)
as it arrives, until Ctrl-C.

From an exchange it is the streamer's engine (apps.exchanges.streaming) watching this one series: ccxt.pro's
websocket where the installed ccxt streams candles for the exchange, polling through the process's keyless
REST client otherwise (or with --poll-only), with the engine's reconnects and fallback. It prints and stores
nothing. With --account naming a paper account on the replay, it follows that replay: the candles the
replay feed releases (the worker ticks it; REPLAY_SPEED a minute).
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

from django.core.management.base import CommandError, CommandParser

from apps.core.cli import OperatorCommand, to_json
from apps.core.numbers import at_increment, plain_number
from apps.core.roles import Role
from apps.exchanges.adapters.ccxt_adapter import EXCHANGES
from apps.exchanges.adapters.pool import public_adapter
from apps.exchanges.cli import account_named, market_named
from apps.exchanges.management.commands.stream_market_data import run_until_stopped
from apps.exchanges.streaming.clients import pro_client
from apps.exchanges.streaming.engine import Row, Series, StreamEngine, StreamSettings
from apps.market.candles_io import ms_to_datetime
from apps.market.models import Market, MarketFeed
from apps.market.selectors import candle_arrays, feed_horizon
from apps.market.timeframes import TIMEFRAME_MS

TIME_FORMAT = "%Y-%m-%d %H:%M"
FORMING = "forming"


class CandlePrinter:
    """Prints candles once each: closed ones in order, the forming one whenever it changed."""

    def __init__(self, command: OperatorCommand, market: Market, timeframe: str, *, as_json: bool, limit: int) -> None:
        self.command, self.market, self.timeframe = command, market, timeframe
        self.as_json, self.limit = as_json, limit
        self.last_closed = -1
        self.closed_count = 0
        self.forming: tuple[float, ...] | None = None
        self.header = not as_json

    @property
    def done(self) -> bool:
        return bool(self.limit) and self.closed_count >= self.limit

    def closed(self, rows: list[Row]) -> None:
        for row in rows:
            if row[0] > self.last_closed and not self.done:
                self.last_closed = int(row[0])
                self.closed_count += 1
                self._print(row, closed=True)

    def forming_candle(self, row: Row) -> None:
        if row[0] > self.last_closed and tuple(row) != self.forming and not self.done:
            self.forming = tuple(row)
            self._print(row, closed=False)

    def _print(self, row: Row, *, closed: bool) -> None:
        opened = ms_to_datetime(int(row[0]))
        if self.as_json:
            prices = dict(
                zip(("open", "high", "low", "close"), (plain_number(value) for value in row[1:5]), strict=True)
            )
            self.command.stdout.write(
                to_json(
                    {
                        "exchange": self.market.exchange,
                        "symbol": self.market.symbol,
                        "timeframe": self.timeframe,
                        "open_time": opened,
                        **prices,
                        "volume": plain_number(row[5]),
                        "closed": closed,
                    }
                )
            )
            return
        if self.header:
            self.command.stdout.write(
                f"{'open (UTC)':16}  {'open':>12}  {'high':>12}  {'low':>12}  {'close':>12}  {'volume':>14}"
            )
            self.header = False
        tick = self.market.price_precision
        prices = "  ".join(f"{at_increment(value, tick):>12}" for value in row[1:5])
        volume = at_increment(row[5], self.market.amount_precision)
        self.command.stdout.write(
            f"{opened:{TIME_FORMAT}}  {prices}  {volume:>14}" + ("" if closed else f"  ({FORMING})")
        )


class TailSink:
    """The stream engine's sink for one series: it prints instead of storing."""

    def __init__(self, series: Series, printer: CandlePrinter, stop: Any) -> None:
        self._series, self.printer, self._stop = series, printer, stop

    def series(self, *, exchange: str | None) -> list[Series]:
        return [] if self.printer.done else [self._series]

    def closed(self, *, series: Series, rows: list[Row]) -> None:
        self.printer.closed(rows)
        self._stop_when_done()

    def poll(self, *, series: Series) -> None:
        fetch = public_adapter(series.exchange).fetch_candles(series.symbol, series.timeframe, since=None, limit=2)
        self.printer.closed(_rows(fetch.closed))
        self._stop_when_done()
        for row in _rows(fetch.forming):
            self.printer.forming_candle(row)

    def forming(self, *, series: Series, row: Row) -> None:
        self.printer.forming_candle(row)

    def last_price(self, *, series: Series, price: float) -> None:
        """Candles only."""

    def _stop_when_done(self) -> None:
        if self.printer.done:
            self._stop()


def _rows(candles: Any) -> list[Row]:
    return [
        [
            float(candles.open_time[i]),
            *(float(candles.column(name)[i]) for name in ("open", "high", "low", "close", "volume")),
        ]
        for i in range(len(candles))
    ]


class Command(OperatorCommand):
    help = (
        "Print each newly closed candle of a market (and the forming one, marked) as it arrives, until Ctrl-C: "
        "over the exchange's websocket where ccxt streams it, polling otherwise, or a paper account's replay."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        where = parser.add_mutually_exclusive_group(required=True)
        where.add_argument("--exchange", choices=EXCHANGES, help="the exchange's public market data")
        where.add_argument(
            "--account",
            help="an account's prices: a paper account on the replay follows the replay, others the exchange",
        )
        parser.add_argument("--symbol", required=True)
        parser.add_argument("--timeframe", required=True, choices=list(TIMEFRAME_MS))
        parser.add_argument("--poll-only", action="store_true", help="poll through REST; open no websocket")
        parser.add_argument("--every", type=float, default=2, help="seconds between looks at a replay (default 2)")
        parser.add_argument(
            "--candles", type=int, default=0, help="stop after this many closed candles (scripts, tests)"
        )
        parser.add_argument("--seconds", type=float, default=None, help="stop after this many seconds")

    def handle(self, *args: Any, **options: Any) -> None:
        self.act_as(options, Role.VIEWER)
        if options["candles"] < 0 or (options["seconds"] is not None and options["seconds"] <= 0):
            raise CommandError("--candles cannot be negative and --seconds must be positive")
        account = account_named(options["account"]) if options["account"] else None
        exchange = account.exchange if account else options["exchange"]
        market = market_named(exchange, options["symbol"])
        printer = CandlePrinter(self, market, options["timeframe"], as_json=options["json"], limit=options["candles"])
        try:
            if account is not None and account.feed_source == MarketFeed.Source.REPLAY:
                self._follow_replay(market, options, printer)
            else:
                self._follow_exchange(market, options, printer)
        except KeyboardInterrupt:
            self.stdout.write("")

    def _follow_exchange(self, market: Market, options: dict[str, Any], printer: CandlePrinter) -> None:
        series = Series(
            exchange=market.exchange, symbol=market.symbol, timeframe=options["timeframe"], market_id=market.pk
        )

        async def run() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            sink = TailSink(series, printer, lambda: loop.call_soon_threadsafe(stop.set))
            engine = StreamEngine(
                sink=sink,
                client_factory=pro_client,
                settings=StreamSettings(poll_seconds=options["every"], poll_only=options["poll_only"]),
                exchange=market.exchange,
            )
            await run_until_stopped(engine, seconds=options["seconds"], stop=stop)

        asyncio.run(run())

    def _follow_replay(self, market: Market, options: dict[str, Any], printer: CandlePrinter) -> None:
        timeframe = options["timeframe"]
        step = timedelta(milliseconds=TIMEFRAME_MS[timeframe])
        deadline = None if options["seconds"] is None else time.monotonic() + options["seconds"]
        horizon = feed_horizon(market=market, timeframe=timeframe, source=MarketFeed.Source.REPLAY)
        if horizon is None:
            raise CommandError(f"the replay has released no {timeframe} candle of {market.symbol} yet")
        printer.closed(_rows(candle_arrays(market=market, timeframe=timeframe, start=horizon, end=horizon + step)))
        while not printer.done and (deadline is None or time.monotonic() < deadline):
            time.sleep(options["every"])
            newest = feed_horizon(market=market, timeframe=timeframe, source=MarketFeed.Source.REPLAY)
            start = ms_to_datetime(printer.last_closed) + step
            if newest is not None and newest >= start:
                printer.closed(_rows(candle_arrays(market=market, timeframe=timeframe, start=start, end=newest + step)))
