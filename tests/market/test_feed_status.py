"""Feed status in plain words on /signals/ and on an exchange account's page: an operator sees
that a feed stopped, when, and why, without reading worker logs."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from apps.exchanges.services import exchange_account_create
from apps.market.models import Market, MarketFeed
from apps.market.replay import market_data_collect
from apps.market.services import candle_series_delete
from tests.factories import MarketFactory
from tests.signals.helpers import stored_market
from tests.strategies.factories import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def page_client(viewer) -> Client:
    return client_for(viewer)


@pytest.fixture
def feeds(settings):
    """A stopped BTC replay (end of its 30 candles), a running ETH one and a gate market's, paused."""
    settings.REPLAY_START_BARS, settings.REPLAY_SPEED = 0, 20
    stored_market(bars=30)
    stored_market(bars=100, symbol="ETH/USDT:USDT")
    stored_market(bars=100, symbol="SOL/USDT:USDT", exchange="gate")
    market_data_collect()
    market_data_collect()
    settings.REPLAY_SPEED = 0
    market_data_collect()


def test_the_signals_page_says_which_feed_stopped_and_why(page_client, feeds) -> None:
    html = page_client.get("/signals/").content.decode()

    assert "replay stopped at 2023-11-14 22:43: no more stored candles" in html
    assert html.count("replay paused at 2023-11-14 22:53: REPLAY_SPEED is 0") == 2
    assert "(since " in html


def test_a_running_feed_says_how_far_it_is(page_client, settings) -> None:
    settings.REPLAY_START_BARS, settings.REPLAY_SPEED = 0, 5
    stored_market(bars=30)
    market_data_collect()

    html = page_client.get("/signals/").content.decode()

    assert "replay running, live up to 2023-11-14 22:18" in html
    assert "(since " not in html


def test_the_account_page_lists_the_feeds_of_its_exchange(page_client, feeds) -> None:
    account = exchange_account_create(name="desk paper", exchange="binanceusdm")

    html = page_client.get(f"/exchanges/{account.pk}/").content.decode()

    rows = feed_rows_by_symbol(html)
    assert "replay stopped at 2023-11-14 22:43: no more stored candles" in rows["BTC/USDT:USDT"]
    assert "replay paused at 2023-11-14 22:53: REPLAY_SPEED is 0" in rows["ETH/USDT:USDT"]
    assert "SOL/USDT:USDT" not in rows  # another exchange's market
    assert "This paper account's prices come from these feeds" in html


def test_the_account_page_says_when_the_candles_are_gone(page_client, feeds) -> None:
    account = exchange_account_create(name="desk paper", exchange="binanceusdm")
    candle_series_delete(market=Market.objects.get(symbol="BTC/USDT:USDT"), timeframe="1m")
    market_data_collect()

    html = page_client.get(f"/exchanges/{account.pk}/").content.decode()

    assert "replay stopped at 2023-11-14 22:43: no candles stored" in feed_rows_by_symbol(html)["BTC/USDT:USDT"]


def feed_rows_by_symbol(html: str) -> dict[str, str]:
    """The feed table's rows (their HTML), by market symbol."""
    rows = re.findall(r'<tr class="feed-row".*?</tr>', html, re.S)
    return {re.search(r"<td>(\S+)", row).group(1): row for row in rows}


def exchange_feed(*, symbol: str, closed_ago: timedelta, **fields) -> MarketFeed:
    """An exchange feed whose last candle (1m) closed `closed_ago` before now."""
    market = Market.objects.filter(symbol=symbol).first() or MarketFactory(symbol=symbol)
    horizon = timezone.now() - closed_ago - timedelta(minutes=1)
    return MarketFeed.objects.create(
        market=market, timeframe="1m", source=MarketFeed.Source.EXCHANGE, horizon=horizon, **fields
    )


@pytest.mark.parametrize("path", ["/markets/", "/signals/"])
def test_exchange_feeds_show_live_lagging_or_stopped_with_the_reason(page_client, path) -> None:
    exchange_feed(symbol="BTC/USDT:USDT", closed_ago=timedelta(seconds=30))
    # MARKET_FEED_GRACE_SECONDS is 90: candles that closed in the last 90 s may not be collected yet.
    exchange_feed(symbol="ETH/USDT:USDT", closed_ago=timedelta(minutes=9, seconds=40))
    exchange_feed(
        symbol="SOL/USDT:USDT",
        closed_ago=timedelta(minutes=3),
        state=MarketFeed.State.STOPPED,
        state_reason="exchange unreachable: RequestTimeout",
    )

    rows = feed_rows_by_symbol(page_client.get(path).content.decode())

    btc, eth, sol = rows["BTC/USDT:USDT"], rows["ETH/USDT:USDT"], rows["SOL/USDT:USDT"]
    assert 'data-state="live"' in btc and "live: last candle" in btc and "closed 0 min ago" in btc
    assert 'data-state="lagging"' in eth and "lagging: 8 candles behind" in eth
    assert 'data-state="stopped"' in sol and "stopped: exchange unreachable: RequestTimeout" in sol
