"""`manage.py candles_tail` (the exchange's websocket, REST polling, or a paper account's replay) and
`fetch_candles --limit`, against the exchange emulator through the real ccxt clients."""

from __future__ import annotations

import threading
from decimal import Decimal
from types import SimpleNamespace

import pytest

from apps.exchanges.emulator import testing
from apps.exchanges.management.commands import candles_tail
from apps.market.candles_io import ms_to_datetime
from apps.market.models import Candle
from tests.exchanges.adapters.test_factory_and_fetch_candles import account_for
from tests.exchanges.collect.conftest import SYMBOL, aimed_at, live_emulator  # noqa: F401  (fixture)
from tests.exchanges.paper.helpers import bar_time, flat, paper_account, release, store_bars
from tests.exchanges.streaming.conftest import streaming
from tests.factories import ExchangeAccountFactory, MarketFactory
from tests.traders.cli.helpers import refused, run

emulator_factory = testing.emulator_factory
TAIL = ("candles_tail", "--symbol", SYMBOL, "--timeframe", "1m")


def _rows(emu, count: int) -> list[tuple[int, Decimal]]:
    """The emulator's newest `count` closed 1m candles (open ms, close): the reference."""
    history = [c for c in emu.engine.feed.history(SYMBOL) if c.open_time < emu.engine.feed.clock]
    return [(c.open_time, c.close) for c in history[-count:]]


@pytest.mark.django_db(transaction=True)
def test_candles_tail_streams_closed_candles_and_marks_the_forming_one(admin_user, live_emulator) -> None:  # noqa: F811
    emu = live_emulator(behind=0)
    MarketFactory()
    ticker = threading.Timer(1.0, emu.advance)  # one candle closes while the tail listens
    with streaming(emu, enable_rate_limit=False, timeout_ms=3000):
        ticker.start()
        try:
            ran = run(*TAIL, "--exchange", "binanceusdm", "--candles", "1", "--seconds", "20", "--json")
        finally:
            ticker.cancel()
    lines = ran.json_lines()
    closed = [line for line in lines if line["closed"]]
    assert len(closed) == 1 and lines[0]["closed"] is False  # the forming candle came first, marked
    [(open_ms, close)] = _rows(emu, 1)
    assert Decimal(closed[0]["close"]) == close and closed[0]["symbol"] == SYMBOL
    assert closed[0]["open_time"] == ms_to_datetime(open_ms).isoformat().replace("+00:00", "Z")


@pytest.mark.django_db
def test_candles_tail_polls_where_asked_and_prints_prices_at_the_tick(admin_user, live_emulator) -> None:  # noqa: F811
    emu = live_emulator(behind=0)
    MarketFactory()  # tick 0.1
    with aimed_at(emu):
        ran = run(*TAIL, "--exchange", "binanceusdm", "--poll-only", "--every", "0.05", "--candles", "2")
    lines = ran.out.splitlines()
    assert lines[0].split() == ["open", "(UTC)", "open", "high", "low", "close", "volume"]
    reference = _rows(emu, 2)
    printed = [line.split() for line in lines[1:3]]
    assert [row[5] for row in printed] == [f"{close.quantize(Decimal('0.1')).normalize():f}" for _t, close in reference]


@pytest.mark.django_db
def test_candles_tail_follows_a_paper_accounts_replay(admin_user, monkeypatch) -> None:
    market, feed = store_bars([flat(20000), flat(20100.25), flat(20200), flat(20300)])
    paper_account(name="Replay desk")
    bars = iter(range(1, 10))
    monkeypatch.setattr(
        candles_tail, "time", SimpleNamespace(sleep=lambda s: release(feed, next(bars)), monotonic=lambda: 0)
    )
    ran = run("candles_tail", "--account", "Replay desk", "--symbol", SYMBOL, "--timeframe", "1h", "--candles", "3")
    rows = [line.split() for line in ran.out.splitlines()[1:]]
    assert [(f"{row[0]} {row[1]}", row[5]) for row in rows] == [
        (f"{bar_time(0):%Y-%m-%d %H:%M}", "20000"),
        (f"{bar_time(1):%Y-%m-%d %H:%M}", "20100.3"),  # at the 0.1 tick, half up
        (f"{bar_time(2):%Y-%m-%d %H:%M}", "20200"),
    ]
    assert market.pk


@pytest.mark.django_db
def test_candles_tail_errors_name_what_was_wrong(admin_user, viewer) -> None:
    MarketFactory()
    refused(*TAIL, "--exchange", "gate", match="gate has no market 'BTC/USDT:USDT' in TradeOps")
    refused(*TAIL, "--account", "Nope", match="no exchange account named 'Nope'")
    ExchangeAccountFactory(name="Empty replay", exchange="binanceusdm")
    refused(*TAIL, "--account", "Empty replay", match="the replay has released no 1m candle")
    refused(*TAIL, "--exchange", "binanceusdm", "--user", "ghost", match="no active user")


@pytest.mark.django_db
def test_fetch_candles_limit_fetches_the_last_closed_candles(emulator_factory) -> None:
    emu = emulator_factory("binanceusdm")
    with aimed_at(emu):
        account_for(emu, name="emu")
        ran = run("fetch_candles", "--account", "emu", "--symbol", SYMBOL, "--timeframe", "1m", "--limit", "5")
        again = run("fetch_candles", "--account", "emu", "--symbol", SYMBOL, "--timeframe", "1m", "--limit", "5")
        paper_account(name="paper")
        refused(
            "fetch_candles",
            "--account",
            "paper",
            "--symbol",
            SYMBOL,
            "--timeframe",
            "1m",
            "--limit",
            "5",
            match="paper account",
        )
    reference = _rows(emu, 5)  # the newest closed ones; the forming candle is left out
    stored = [(int(c.open_time.timestamp() * 1000), c.close) for c in Candle.objects.order_by("open_time")]
    assert stored == reference and "5 1m candles" in ran.out
    assert "No new closed 1m candles" in again.out
