"""The replay feed: stored candles released forward at the configured speed, one feed per stored
timeframe of each active market, replay only where no testnet or live account needs real prices."""

from __future__ import annotations

import pytest

from apps.exchanges.models import ExchangeAccount
from apps.market.models import Candle, ExchangeId, MarketFeed
from apps.market.replay import ExchangeSource, ReplaySource, feed_advance, market_data_collect, source_for
from apps.market.services import candle_series_import
from tests.signals.helpers import stored_market, synthetic_series

pytestmark = pytest.mark.django_db


def open_times(market, timeframe="1m"):
    return list(
        Candle.objects.filter(market=market, timeframe=timeframe)
        .order_by("open_time")
        .values_list("open_time", flat=True)
    )


@pytest.mark.parametrize(("start_bars", "speed"), [(0, 1), (30, 7), (100, 25)])
def test_each_tick_releases_the_configured_number_of_candles(settings, start_bars, speed) -> None:
    settings.REPLAY_START_BARS, settings.REPLAY_SPEED = start_bars, speed
    market = stored_market(bars=200)
    times = open_times(market)

    horizons = []
    for _ in range(4):
        market_data_collect()
        horizons.append(MarketFeed.objects.get(market=market).horizon)

    assert horizons == [times[start_bars + n * speed - 1] for n in range(1, 5)]


def test_the_replay_stops_at_the_last_stored_candle(settings) -> None:
    settings.REPLAY_START_BARS, settings.REPLAY_SPEED = 0, 40
    market = stored_market(bars=100)
    times = open_times(market)

    ticks = [market_data_collect()[0] for _ in range(4)]

    assert [tick.horizon for tick in ticks] == [times[39], times[79], times[99], times[99]]
    assert [tick.moved for tick in ticks] == [True, True, True, False]
    assert [tick.exhausted for tick in ticks] == [False, False, True, True]
    assert MarketFeed.objects.get(market=market).exhausted_at is not None


def test_speed_zero_pauses_the_replay(settings) -> None:
    settings.REPLAY_START_BARS, settings.REPLAY_SPEED = 10, 0
    market = stored_market(bars=50)

    market_data_collect()
    market_data_collect()

    assert MarketFeed.objects.get(market=market).horizon == open_times(market)[9]


def test_every_stored_timeframe_of_every_active_market_gets_a_feed(settings) -> None:
    settings.REPLAY_START_BARS, settings.REPLAY_SPEED = 5, 1
    btc = stored_market(bars=20)
    candle_series_import(market=btc, timeframe="1h", series=synthetic_series(bars=20, timeframe="1h"), source="t")
    eth = stored_market(bars=20, symbol="ETH/USDT:USDT")
    stored_market(bars=20, symbol="SOL/USDT:USDT", active=False)

    market_data_collect()

    feeds = {(feed.market.symbol, feed.timeframe): feed.horizon for feed in MarketFeed.objects.all()}
    assert feeds == {
        ("BTC/USDT:USDT", "1m"): open_times(btc)[5],
        ("BTC/USDT:USDT", "1h"): open_times(btc, "1h")[5],
        ("ETH/USDT:USDT", "1m"): open_times(eth)[5],
    }


def test_feeds_are_independent_of_stored_candles_beyond_them(settings) -> None:
    """The replay reveals stored bars; it never writes candles, so history and replay cannot mix."""
    settings.REPLAY_START_BARS, settings.REPLAY_SPEED = 0, 10
    market = stored_market(bars=60)
    before = Candle.objects.count()

    market_data_collect()

    assert Candle.objects.count() == before
    assert MarketFeed.objects.get().horizon == open_times(market)[9]


def test_markets_with_a_live_or_testnet_account_need_the_exchange_source(settings, caplog) -> None:
    market = stored_market(bars=20)
    assert isinstance(source_for(market), ReplaySource)
    ExchangeAccount.objects.create(name="paper", exchange=ExchangeId.BINANCEUSDM, mode=ExchangeAccount.Mode.PAPER)
    assert isinstance(source_for(market), ReplaySource)
    ExchangeAccount.objects.create(name="test", exchange=ExchangeId.BINANCEUSDM, mode=ExchangeAccount.Mode.TESTNET)

    assert isinstance(source_for(market), ExchangeSource)
    with caplog.at_level("INFO", logger="apps.market.replay"):
        assert market_data_collect() == []
    assert "not implemented yet" in caplog.text
    assert not MarketFeed.objects.exists()
    with pytest.raises(NotImplementedError):
        feed_advance(market=market, timeframe="1m", source=ExchangeSource())
