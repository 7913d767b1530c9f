"""Feed status in plain words on /signals/ and on an exchange account's page: an operator sees
that a feed stopped, when, and why, without reading worker logs."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.exchanges.services import exchange_account_create
from apps.market.models import Market
from apps.market.replay import market_data_collect
from apps.market.services import candle_series_delete
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


BTC_STOPPED = "BTC/USDT:USDT 1m replay stopped at 2023-11-14 22:43: no more stored candles"
ETH_PAUSED = "ETH/USDT:USDT 1m replay paused at 2023-11-14 22:53: REPLAY_SPEED is 0"
SOL_PAUSED = "SOL/USDT:USDT 1m replay paused at 2023-11-14 22:53: REPLAY_SPEED is 0"


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

    assert BTC_STOPPED in html and ETH_PAUSED in html
    assert SOL_PAUSED not in html  # another exchange's market
    assert "This paper account's prices come from these feeds" in html


def test_the_account_page_says_when_the_candles_are_gone(page_client, feeds) -> None:
    account = exchange_account_create(name="desk paper", exchange="binanceusdm")
    candle_series_delete(market=Market.objects.get(symbol="BTC/USDT:USDT"), timeframe="1m")
    market_data_collect()

    html = page_client.get(f"/exchanges/{account.pk}/").content.decode()

    assert "BTC/USDT:USDT 1m replay stopped at 2023-11-14 22:43: no candles stored" in html
