"""The replay feed: stored candles released forward at the configured speed, one feed per stored
timeframe of each active market whatever accounts exist, and the state each feed is left in."""

from __future__ import annotations

import pytest

from apps.exchanges.models import ExchangeAccount
from apps.market.events import candles_released
from apps.market.models import Candle, ExchangeId, MarketFeed
from apps.market.replay import ReplaySource, market_data_collect
from apps.market.services import candle_series_delete, candle_series_import
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
    assert [tick.state for tick in ticks] == ["running", "running", "stopped", "stopped"]
    feed = MarketFeed.objects.get(market=market)
    assert feed.status_line == f"BTC/USDT:USDT 1m replay stopped at {times[99]:%Y-%m-%d %H:%M}: no more stored candles"


def test_speed_zero_pauses_the_replay(settings) -> None:
    settings.REPLAY_START_BARS, settings.REPLAY_SPEED = 10, 0
    market = stored_market(bars=50)

    market_data_collect()
    market_data_collect()

    feed = MarketFeed.objects.get(market=market)
    assert feed.horizon == open_times(market)[9]
    assert feed.status_line == f"BTC/USDT:USDT 1m replay paused at {feed.horizon:%Y-%m-%d %H:%M}: REPLAY_SPEED is 0"


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


@pytest.mark.parametrize("mode", [ExchangeAccount.Mode.TESTNET, ExchangeAccount.Mode.LIVE])
def test_the_replay_runs_whatever_accounts_exist_on_the_exchange(settings, caplog, mode) -> None:
    """Regression: a testnet or live account on the exchange used to stop the replay its paper accounts price from."""
    settings.REPLAY_START_BARS, settings.REPLAY_SPEED = 0, 5
    market = stored_market(bars=20)
    ExchangeAccount.objects.create(name="paper", exchange=ExchangeId.BINANCEUSDM, mode=ExchangeAccount.Mode.PAPER)
    ExchangeAccount.objects.create(name="other", exchange=ExchangeId.BINANCEUSDM, mode=mode, price_source="live")

    with caplog.at_level("INFO", logger="apps.market.replay"):
        ticks = market_data_collect() + market_data_collect()

    assert [(tick.source, tick.horizon, tick.state) for tick in ticks] == [
        ("replay", open_times(market)[4], "running"),
        ("replay", open_times(market)[9], "running"),
    ]
    assert caplog.text == ""


def test_a_replay_resumes_when_more_candles_are_stored(settings) -> None:
    settings.REPLAY_START_BARS, settings.REPLAY_SPEED = 0, 50
    market = stored_market(bars=40)
    assert market_data_collect()[0].state == "stopped"
    since = MarketFeed.objects.get().state_since

    more = synthetic_series(bars=120)
    candle_series_import(market=market, timeframe="1m", series=more, source="more")
    tick = market_data_collect()[0]

    assert (tick.state, tick.reason, tick.horizon) == ("running", "", open_times(market)[89])
    assert MarketFeed.objects.get().state_since > since


def test_a_feed_whose_candles_were_deleted_says_so(settings) -> None:
    settings.REPLAY_START_BARS, settings.REPLAY_SPEED = 0, 5
    market = stored_market(bars=20)
    horizon = market_data_collect()[0].horizon
    candle_series_delete(market=market, timeframe="1m")

    tick = market_data_collect()[0]

    assert (tick.state, tick.horizon) == ("stopped", horizon)
    assert MarketFeed.objects.get().status_line == (
        f"BTC/USDT:USDT 1m replay stopped at {horizon:%Y-%m-%d %H:%M}: no candles stored"
    )


def test_a_failing_feed_is_stopped_with_its_error_and_the_others_still_run(settings, monkeypatch, caplog) -> None:
    settings.REPLAY_START_BARS, settings.REPLAY_SPEED = 0, 5
    btc = stored_market(bars=20)
    eth = stored_market(bars=20, symbol="ETH/USDT:USDT")
    market_data_collect()
    release = ReplaySource.release

    def broken_for_btc(self, *, market, **kwargs):
        if market == btc:
            raise ValueError("candle 2023-11-14 22:19 has high below low")
        return release(self, market=market, **kwargs)

    monkeypatch.setattr(ReplaySource, "release", broken_for_btc)
    with caplog.at_level("ERROR", logger="apps.market.replay"):
        ticks = market_data_collect()

    assert [(tick.market_id, tick.state, tick.moved) for tick in ticks] == [
        (btc.pk, "stopped", False),
        (eth.pk, "running", True),
    ]
    btc_feed = MarketFeed.objects.get(market=btc)
    assert btc_feed.horizon == open_times(btc)[4]  # the failed tick released nothing
    assert btc_feed.status_line.endswith(
        "stopped at 2023-11-14 22:18: error: candle 2023-11-14 22:19 has high below low"
    )
    assert "The BTC/USDT:USDT 1m feed failed" in caplog.text

    monkeypatch.setattr(ReplaySource, "release", release)
    assert market_data_collect()[0].state == "running"


def test_a_failing_receiver_of_released_candles_does_not_hold_the_feed_back(settings, caplog) -> None:
    """Prices come from the horizon: an app above market failing to react must not freeze them."""
    settings.REPLAY_START_BARS, settings.REPLAY_SPEED = 0, 5
    market = stored_market(bars=20)

    def broken(**kwargs):
        raise RuntimeError("evaluation queue unavailable")

    candles_released.connect(broken, dispatch_uid="test.broken")
    try:
        with caplog.at_level("ERROR", logger="apps.market.replay"):
            tick = market_data_collect()[0]
    finally:
        candles_released.disconnect(dispatch_uid="test.broken")

    assert (tick.horizon, tick.state) == (open_times(market)[4], "running")
    assert "failed on new BTC/USDT:USDT 1m candles" in caplog.text
    assert "evaluation queue unavailable" in caplog.text


def test_a_feed_whose_first_tick_failed_still_starts_with_its_warm_up(settings, monkeypatch) -> None:
    settings.REPLAY_START_BARS, settings.REPLAY_SPEED = 10, 2
    market = stored_market(bars=50)
    release = ReplaySource.release

    def broken(self, **kwargs):
        raise OSError("database disk image is malformed")

    monkeypatch.setattr(ReplaySource, "release", broken)
    failed = market_data_collect()[0]
    monkeypatch.setattr(ReplaySource, "release", release)
    started = market_data_collect()[0]

    assert (failed.state, failed.reason, failed.horizon) == ("stopped", "error: database disk image is malformed", None)
    assert MarketFeed.objects.get().status_line == "BTC/USDT:USDT 1m replay running, live up to 2023-11-14 22:25"
    assert (started.state, started.horizon) == ("running", open_times(market)[11])
