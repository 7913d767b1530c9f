"""Each candle a feed releases (the replay moving through stored history, or live collection storing
the exchange's closed candles) is published as a live `candle` event in the feed's transaction, for
the charts; a catch-up publishes only its newest candles."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.core.models import Event
from apps.market.models import Candle, MarketFeed
from apps.market.replay import CANDLE_EVENTS_MAX, ReplaySource, feed_advance
from tests.exchanges.paper.helpers import RecordedExchange, bar_time, store_bars
from tests.market.helpers import HOUR, START_MS

pytestmark = pytest.mark.django_db


def bars(count: int) -> list[tuple[float, float, float, float]]:
    return [(100.0 + i, 101.5 + i, 99.25 + i, 100.5 + i) for i in range(count)]


def candle_events() -> list[dict]:
    return [event.data for event in Event.objects.filter(type="candle").order_by("pk")]


def test_each_replayed_candle_is_published_with_its_prices() -> None:
    market, _feed = store_bars(bars(10))  # the replay stands at bar 0
    feed_advance(market=market, timeframe="1h", source=ReplaySource(speed=3, start_bars=0))

    published = candle_events()
    assert [event["time"] for event in published] == [f"{bar_time(i):%Y-%m-%dT%H:%M:%SZ}" for i in (1, 2, 3)]
    stored = Candle.objects.get(market=market, timeframe="1h", open_time=bar_time(2))
    assert {key: published[1][key] for key in ("market_id", "symbol", "timeframe", "source")} == {
        "market_id": market.pk,
        "symbol": market.symbol,
        "timeframe": "1h",
        "source": "replay",
    }
    # The stored candle is bar 2 of the list above: 102, 103.5, 101.25, 102.5.
    # At the market's tick (0.1): 101.25 shows as 101.3 (half up, as every page rounds).
    assert [published[1][key] for key in ("o", "h", "l", "c", "v")] == ["102", "103.5", "101.3", "102.5", "1"]
    assert Decimal(published[1]["c"]) == stored.close


def test_a_tick_that_releases_nothing_publishes_nothing() -> None:
    market, _feed = store_bars(bars(2))
    source = ReplaySource(speed=5, start_bars=0)
    feed_advance(market=market, timeframe="1h", source=source)  # releases bar 1 and stops: no more candles
    assert len(candle_events()) == 1
    feed_advance(market=market, timeframe="1h", source=source)
    assert len(candle_events()) == 1


def test_a_feed_starting_with_its_warm_up_publishes_only_the_newest_candles() -> None:
    market, feed = store_bars(bars(CANDLE_EVENTS_MAX + 15))
    feed.delete()  # a new feed: its first tick releases the warm-up history at once
    feed_advance(market=market, timeframe="1h", source=ReplaySource(speed=1, start_bars=CANDLE_EVENTS_MAX + 5))

    published = candle_events()
    horizon = MarketFeed.objects.get(market=market).horizon
    assert len(published) == CANDLE_EVENTS_MAX
    assert published[-1]["time"] == f"{horizon:%Y-%m-%dT%H:%M:%SZ}"
    times = [event["time"] for event in published]
    assert times == sorted(times)


def test_a_candle_collected_from_the_exchange_is_published_as_the_exchange_source() -> None:
    market, _feed = store_bars(bars(1))
    MarketFeed.objects.create(market=market, timeframe="1h", source=MarketFeed.Source.EXCHANGE, horizon=bar_time(0))
    rows = [[START_MS + HOUR, 200.0, 210.0, 190.0, 205.0, 3.0]]
    feed_advance(market=market, timeframe="1h", source=RecordedExchange(rows))

    (event,) = candle_events()
    assert (event["source"], event["time"], Decimal(event["c"]), Decimal(event["v"])) == (
        "exchange",
        f"{bar_time(1):%Y-%m-%dT%H:%M:%SZ}",
        Decimal(205),
        Decimal(3),
    )
