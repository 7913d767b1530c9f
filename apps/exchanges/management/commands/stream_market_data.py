"""`manage.py stream_market_data`: the long-running market data streamer (apps.exchanges.streaming)."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.exchanges.adapters.ccxt_adapter import EXCHANGES
from apps.exchanges.streaming.clients import pro_client
from apps.exchanges.streaming.engine import StreamEngine, StreamSettings
from apps.exchanges.streaming.sink import CollectorSink

logger = logging.getLogger("apps.exchanges.streaming.engine")


class Command(BaseCommand):
    help = (
        "Stream closed candles and last prices of every collected series over the exchanges' websockets "
        "(polling through REST where there is no stream); runs until SIGTERM or Ctrl-C."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--exchange", choices=EXCHANGES, help="Only this exchange's series.")
        parser.add_argument("--poll-only", action="store_true", help="Poll through REST; open no websocket.")
        parser.add_argument(
            "--seconds", type=float, default=None, help="Stop after this many seconds (a check, or a test)."
        )

    def handle(self, *args: Any, exchange: str | None, poll_only: bool, seconds: float | None, **options: Any) -> None:
        if seconds is not None and seconds <= 0:
            raise CommandError("--seconds must be positive")
        stream_settings = StreamSettings(
            poll_seconds=settings.STREAM_POLL_SECONDS,
            refresh_seconds=settings.STREAM_REFRESH_SECONDS,
            poll_only=poll_only,
        )
        engine = StreamEngine(
            sink=CollectorSink(), client_factory=pro_client, settings=stream_settings, exchange=exchange
        )
        asyncio.run(run_until_stopped(engine, seconds=seconds))
        self.stdout.write("Stopped streaming market data.")


async def run_until_stopped(engine: StreamEngine, *, seconds: float | None, stop: asyncio.Event | None = None) -> None:
    """Run the engine until SIGTERM or SIGINT (Ctrl-C), for `seconds`, or until `stop` is set; it then
    closes its connections."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, _stopper(stop, signum))
    if seconds is not None:
        loop.call_later(seconds, stop.set)
    logger.info("Streaming market data (%s)", "polling only" if engine.settings.poll_only else "websockets first")
    await engine.run(stop)


def _stopper(stop: asyncio.Event, signum: int) -> Any:
    def request_stop() -> None:
        logger.info("%s received; stopping", signal.Signals(signum).name)
        stop.set()

    return request_stop
