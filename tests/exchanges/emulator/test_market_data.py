"""Market data through the real ccxt client: markets, time, balance, ticker, OHLCV paging."""

from __future__ import annotations

import time
from decimal import Decimal

import ccxt
import pytest

from apps.exchanges.emulator import ExchangeEmulator, testing
from apps.exchanges.emulator.markets import synthetic_perpetuals
from tests.exchanges.emulator.conftest import MINUTE, SYMBOL

EXPECTED_MARKETS = {
    # exchange: symbol -> (id, amount precision, price precision, min amount, max amount, min cost, contract size)
    "binanceusdm": {
        "BTC/USDT:USDT": ("BTCUSDT", 0.001, 0.1, 0.001, 1000, 100, 1),
        "ETH/USDT:USDT": ("ETHUSDT", 0.001, 0.01, 0.001, 10000, 20, 1),
    },
    "gate": {
        "BTC/USDT:USDT": ("BTC_USDT", 1, 0.1, 1, 1_000_000, None, 0.0001),
        "ETH/USDT:USDT": ("ETH_USDT", 1, 0.01, 1, 1_000_000, None, 0.01),
    },
}


def test_load_markets_parses_precision_and_limits(emulator: ExchangeEmulator, client: ccxt.Exchange) -> None:
    for symbol, (market_id, amount, price, min_amount, max_amount, min_cost, size) in EXPECTED_MARKETS[
        emulator.exchange
    ].items():
        market = client.market(symbol)
        assert market["id"] == market_id
        assert market["swap"] and market["linear"] and market["settle"] == "USDT"
        assert market["precision"]["amount"] == amount
        assert market["precision"]["price"] == price
        assert market["limits"]["amount"]["min"] == min_amount
        assert market["limits"]["amount"]["max"] == max_amount
        assert market["limits"]["cost"]["min"] == min_cost
        assert market["contractSize"] == size
    if emulator.exchange == "gate":
        assert client.market(SYMBOL)["limits"]["leverage"] == {"min": 1, "max": 125}
        assert client.market("ETH/USDT:USDT")["limits"]["leverage"]["max"] == 100


def test_fetch_time_is_server_clock(client: ccxt.Exchange) -> None:
    assert abs(client.fetch_time() - time.time() * 1000) < 2000


def test_fetch_balance_starts_with_the_configured_wallet(client: ccxt.Exchange) -> None:
    usdt = client.fetch_balance()["USDT"]
    assert usdt == {"free": 10000.0, "used": 0.0, "total": 10000.0}


def test_fetch_ticker_shows_the_feed_price(emulator: ExchangeEmulator, client: ccxt.Exchange) -> None:
    emulator.set_price(SYMBOL, "28123.4")
    ticker = client.fetch_ticker(SYMBOL)
    assert ticker["symbol"] == SYMBOL
    assert ticker["last"] == 28123.4
    assert ticker["low"] <= ticker["last"] <= ticker["high"]
    assert ticker["baseVolume"] > 0


def _expected(emulator: ExchangeEmulator, count: int | None = None) -> list[list[float]]:
    history = emulator.engine.feed.history(SYMBOL)
    rows = [[c.open_time, float(c.open), float(c.high), float(c.low), float(c.close)] for c in history]
    return rows[-count:] if count else rows


def test_fetch_ohlcv_latest_candles_end_at_the_clock(emulator: ExchangeEmulator, client: ccxt.Exchange) -> None:
    candles = client.fetch_ohlcv(SYMBOL, "1m", limit=5)
    assert [c[:5] for c in candles] == _expected(emulator, 5)
    assert candles[-1][0] == emulator.engine.feed.clock


def test_fetch_ohlcv_pages_forward_with_since_and_limit(emulator: ExchangeEmulator, client: ccxt.Exchange) -> None:
    clock = emulator.engine.feed.clock
    since = clock - 249 * MINUTE
    pages = []
    cursor = since
    while cursor <= clock:
        page = client.fetch_ohlcv(SYMBOL, "1m", since=cursor, limit=100)
        assert page and page[0][0] == cursor
        pages.extend(page)
        cursor = page[-1][0] + MINUTE
    assert [p[0] for p in pages] == list(range(since, clock + MINUTE, MINUTE))
    assert [p[:5] for p in pages] == _expected(emulator, 250)


def test_fetch_ohlcv_never_returns_candles_after_the_clock(emulator: ExchangeEmulator, client: ccxt.Exchange) -> None:
    clock = emulator.engine.feed.clock
    assert len(client.fetch_ohlcv(SYMBOL, "1m", since=clock - 2 * MINUTE, limit=10)) == 3
    emulator.advance()
    assert client.fetch_ohlcv(SYMBOL, "1m", limit=1)[0][0] == clock + MINUTE


def test_fetch_ohlcv_until_bounds_the_last_candle(emulator: ExchangeEmulator, client: ccxt.Exchange) -> None:
    until = emulator.engine.feed.clock - 30 * MINUTE
    candles = client.fetch_ohlcv(SYMBOL, "1m", limit=10, params={"until": until})
    assert len(candles) == 10
    assert candles[-1][0] == until


def test_fetch_ohlcv_paginate_stitches_several_requests(emulator: ExchangeEmulator, client: ccxt.Exchange) -> None:
    clock = emulator.engine.feed.clock
    since = clock - 599 * MINUTE
    before = len(emulator.requests)
    # ccxt's deterministic paging anchors on its wall clock unless "until" is given; the feed lives in 2023.
    params = {"paginate": True, "paginationCalls": 3, "maxEntriesPerRequest": 200, "until": clock}
    candles = client.fetch_ohlcv(SYMBOL, "1m", since=since, params=params)
    got, expected = [c[0] for c in candles], list(range(since, clock + MINUTE, MINUTE))
    if emulator.exchange == "binanceusdm":
        assert got == expected
    else:
        # ccxt quirk: each Gate page starts at since + k*step - 1 ms, floored to seconds, and ends at an
        # inclusive "to" one second short of the next minute, so a boundary candle per page is lost.
        assert got == sorted(set(got)) and set(got) <= set(expected) and len(expected) - len(got) <= 3
    assert sum("candlesticks" in r.path or "klines" in r.path for r in list(emulator.requests)[before:]) == 3


def test_fetch_ohlcv_longer_timeframe_is_rolled_up(emulator: ExchangeEmulator, client: ccxt.Exchange) -> None:
    five = client.fetch_ohlcv(SYMBOL, "5m", limit=3)
    ones = emulator.engine.feed.history(SYMBOL)
    bucket = [c for c in ones if five[-2][0] <= c.open_time < five[-2][0] + 5 * MINUTE]
    assert len(bucket) == 5
    assert five[-2][1:5] == [
        float(bucket[0].open),
        float(max(c.high for c in bucket)),
        float(min(c.low for c in bucket)),
        float(bucket[-1].close),
    ]


@pytest.mark.parametrize("emulator", ["gate"], indirect=True)
def test_gate_refuses_candles_too_long_ago(emulator: ExchangeEmulator, client: ccxt.Exchange) -> None:
    since = emulator.engine.feed.clock - 20_000 * MINUTE
    with pytest.raises(ccxt.BadRequest, match="Maximum 10000 points ago"):
        client.fetch_ohlcv(SYMBOL, "1m", since=since, limit=10)


@pytest.mark.parametrize("emulator", ["binanceusdm"], indirect=True)
def test_binance_rejects_a_limit_above_1500(client: ccxt.Exchange) -> None:
    with pytest.raises(ccxt.ExchangeError, match="-1130"):
        client.fapiPublicGetKlines({"symbol": "BTCUSDT", "interval": "1m", "limit": 2000})


def test_price_ticks_are_decimal_strings_on_the_wire(emulator: ExchangeEmulator, client: ccxt.Exchange) -> None:
    emulator.set_price(SYMBOL, Decimal("28000.1"))
    ticker = client.fetch_ticker(SYMBOL)
    last = ticker["info"]["lastPrice"] if emulator.exchange == "binanceusdm" else ticker["info"]["last"]
    assert isinstance(last, str) and Decimal(last) == Decimal("28000.1")


@pytest.mark.parametrize("exchange", ["binanceusdm", "gate"])
def test_extra_markets_are_served_beside_the_real_ones_with_their_own_candles(exchange: str) -> None:
    with testing.running_emulator(exchange, extra_markets=synthetic_perpetuals(2)) as emu:
        client = emu.ccxt_client()
        client.load_markets()
        assert {"BTC/USDT:USDT", "SYN001/USDT:USDT", "SYN002/USDT:USDT"} <= set(client.symbols)
        first = client.fetch_ohlcv("SYN001/USDT:USDT", "1m", None, 3)
        second = client.fetch_ohlcv("SYN002/USDT:USDT", "1m", None, 3)
    assert [row[0] for row in first] == [row[0] for row in second]
    assert first != second
