"""`manage.py stream_market_data`: runs the engine against the emulator for a bounded time, and stops cleanly."""

from __future__ import annotations

import asyncio
import io
import signal
import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.exchanges.collect import exchange_feed_advance
from apps.exchanges.management.commands.stream_market_data import run_until_stopped
from apps.exchanges.streaming.clients import pro_client
from apps.exchanges.streaming.engine import StreamEngine
from apps.market.livecache import market_cache
from apps.market.models import MarketFeed
from apps.market.selectors import forming_candle, market_last_price
from tests.exchanges.adapters.conftest import FAST_RETRY
from tests.exchanges.streaming.conftest import FAST, RecordingSink, streaming

# The command runs its database work on its own thread: the test database must be shared, not a transaction.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("poll_only", [False, True])
def test_the_command_streams_or_polls_for_the_given_time_and_stops(
    live_emulator, followed_market, settings, poll_only: bool
) -> None:
    settings.MARKET_DATA_BACKFILL_BARS = 20
    # The command judges a candle closed by the wall clock too: the emulator's forming candle is this minute's.
    emulator = live_emulator(behind=0)
    out = io.StringIO()
    with streaming(emulator, enable_rate_limit=False, timeout_ms=3000, retry=FAST_RETRY):
        exchange_feed_advance(market=followed_market, timeframe="1m")
        market_cache().clear()
        call_command("stream_market_data", "--seconds", "1.5", *(["--poll-only"] if poll_only else []), stdout=out)
    assert "Stopped streaming market data." in out.getvalue()
    feed = MarketFeed.objects.get(market=followed_market, timeframe="1m", source=MarketFeed.Source.EXCHANGE)
    assert feed.state == MarketFeed.State.RUNNING
    # Streamed: the forming candle and the ticker's price; polled: the REST collector cached them.
    assert forming_candle(market=followed_market, timeframe="1m") is not None
    assert market_last_price(market=followed_market) is not None


def test_sigterm_stops_the_engine_cleanly() -> None:
    sink = RecordingSink([])
    engine = StreamEngine(sink=sink, client_factory=pro_client, settings=FAST)
    threading.Timer(0.2, signal.raise_signal, (signal.SIGTERM,)).start()
    # It returns: SIGTERM set the stop event, and the engine shut down.
    asyncio.run(asyncio.wait_for(run_until_stopped(engine, seconds=None), timeout=5))


def test_the_command_refuses_a_non_positive_duration() -> None:
    with pytest.raises(CommandError, match="--seconds must be positive"):
        call_command("stream_market_data", "--seconds", "0")
