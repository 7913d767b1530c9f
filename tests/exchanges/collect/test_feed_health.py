"""Feed health (live, lagging, stopped) and the lag alert: raised once, closed on recovery."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.market.models import MarketFeed
from apps.market.replay import market_data_collect
from apps.market.selectors import FEED_LAGGING, FEED_LIVE, FEED_STOPPED, feed_health
from apps.market.services import market_follow
from apps.traders.models import Alert
from tests.exchanges.collect.conftest import aimed_at

pytestmark = pytest.mark.django_db


def exchange_feed(market) -> MarketFeed:
    return MarketFeed.objects.get(market=market, timeframe="1m", source=MarketFeed.Source.EXCHANGE)


def lag_alerts() -> list[Alert]:
    return list(Alert.objects.filter(kind=Alert.Kind.FEED_LAGGING).order_by("pk"))


def test_a_lagging_feed_raises_one_alert_and_recovery_closes_it(live_emulator, followed_market, settings) -> None:
    settings.MARKET_DATA_BACKFILL_BARS = 5
    emu = live_emulator(behind=10)
    with aimed_at(emu):
        market_data_collect()
        health = feed_health(feed=exchange_feed(followed_market))
        assert health.state == FEED_LAGGING and health.behind >= 8
        assert health.text == f"lagging: {health.behind} candles behind"
        market_data_collect()  # still behind: the same alert stays open, no second one
        [alert] = lag_alerts()
        assert alert.acknowledged_at is None and alert.level == Alert.Level.WARNING
        assert alert.message.startswith("The binanceusdm BTC/USDT:USDT 1m feed is ")

        emu.advance(10)  # the exchange's clock reaches this minute: the feed catches up
        market_data_collect()
    health = feed_health(feed=exchange_feed(followed_market))
    assert health.state == FEED_LIVE and health.behind == 0 and health.text.startswith("live: last candle ")
    [alert] = lag_alerts()
    assert alert.acknowledged_at is not None and alert.acknowledged_by is None
    assert "Caught up at" in alert.message


def test_a_stopped_feed_says_why(followed_market) -> None:
    feed = MarketFeed.objects.get(market=followed_market, source=MarketFeed.Source.EXCHANGE)
    feed.state, feed.state_reason = MarketFeed.State.STOPPED, "exchange unreachable"
    feed.horizon = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=30)
    health = feed_health(feed=feed)
    assert (health.state, health.text) == (FEED_STOPPED, "stopped: exchange unreachable")
    assert health.behind >= 27


def test_a_feed_that_collected_nothing_yet_lags_by_an_unknown_count(followed_market) -> None:
    feed = MarketFeed.objects.get(market=followed_market, source=MarketFeed.Source.EXCHANGE)
    assert feed_health(feed=feed).text == "lagging: nothing collected yet"


def test_the_lag_alert_of_a_feed_no_longer_collected_is_closed(live_emulator, followed_market, settings) -> None:
    settings.MARKET_DATA_BACKFILL_BARS = 5
    emu = live_emulator(behind=10)
    with aimed_at(emu):
        market_data_collect()
        market_follow(market=followed_market, timeframe="1m", follow=False)
        market_data_collect()
    [alert] = lag_alerts()
    assert alert.acknowledged_at is not None and alert.message.endswith("No longer collected.")
