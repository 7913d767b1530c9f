"""Parity on real market data: evaluating candle by candle as the worker does records exactly the
backtest's signals (signals_for(bar_directions(compute_triggers(...)))), directions and cooldown
suppressions included, after the round trip through the database; with stored news as the
sentiment input too (the RSI + sentiment preset)."""

from __future__ import annotations

import numpy as np
import pytest

from apps.market.arrays import CandleArrays
from apps.market.candles_io import CandleSeries, read_candles
from apps.market.services import candle_series_import
from apps.signals import services
from apps.signals.evaluation import LiveEvaluation
from apps.signals.models import Signal
from apps.strategies.decisions import bar_directions, signals_for
from apps.strategies.series import compute_triggers
from apps.strategies.spec import StrategySpec
from tests.conftest import shared_data_path
from tests.factories import MarketFactory
from tests.news.helpers import scored_news
from tests.signals.helpers import enabled_strategy, recorded, strategy_reference

pytestmark = pytest.mark.shared_data

BTC_1M = "binance_BTCUSDT_1m_2023-03-16_2023-05-01.freqtrade.json"
# The first 6,000 bars (about four days, 2023-03-16 22:15 to 03-21): enough for every preset to
# warm up and fire hundreds of times; the whole 66,087-bar file takes minutes through the
# pure-Python streaming evaluator, and the parity argument does not change with length.
BARS = 6_000


@pytest.fixture(scope="module")
def btc_1m() -> CandleSeries:
    series = read_candles(shared_data_path("ohlcv", BTC_1M), timeframe_ms=60_000)
    return CandleSeries(open_time_ms=series.open_time_ms[:BARS], ohlcv=series.ohlcv[:BARS], format=series.format)


@pytest.mark.django_db
def test_the_worker_records_exactly_the_backtests_signals_on_btcusdt_1m(btc_1m, replay_settings, tick) -> None:
    replay_settings.REPLAY_START_BARS = 500
    replay_settings.REPLAY_SPEED = 1_100
    market = MarketFactory()
    candle_series_import(market=market, timeframe="1m", series=btc_1m, source=BTC_1M)
    times = btc_1m.open_time_ms
    # About a headline every ten minutes, read through the same rolling sentiment in both paths.
    scored_news(asset="BTC", start_ms=int(times[0]), end_ms=int(times[-1]), count=BARS // 10)
    strategies = [
        enabled_strategy("rsi_mean_reversion", cooldown_bars=5),
        enabled_strategy("ema_trend", cooldown_bars=0),
        enabled_strategy("bollinger_breakout", cooldown_bars=10),
        enabled_strategy("rsi_sentiment", cooldown_bars=3),
    ]

    tick(times=2)
    services.EVALUATIONS.clear()  # a worker restart half way through
    tick(times=4)

    for strategy in strategies:
        expected = strategy_reference(strategy, market)
        assert recorded(strategy) == expected, strategy.name
        assert len(expected) > 10, strategy.name
    assert Signal.objects.filter(status=Signal.Status.SUPPRESSED).count() > 100
    assert Signal.objects.filter(direction=Signal.Direction.SHORT).exists()


BTC_1H = "binance_BTCUSDT_1h_2017-2022.freqtrade.json"
EVERY_INDICATOR = {
    "indicators": [
        {"id": "sma_20", "kind": "sma", "period": 20},
        {"id": "atr_14", "kind": "atr", "period": 14},
        {"id": "m", "kind": "macd"},
        {"id": "r", "kind": "rsi", "period": 7, "source": "high"},
        {"id": "bb", "kind": "bbands", "period": 30, "k": 1.5},
    ],
    "entry": {
        "long": {
            "all": [
                {"left": "m.macd", "op": "crosses_above", "right": "m.signal"},
                {"left": "close", "op": ">", "right": "sma_20"},
            ]
        },
        "short": {
            "any": [
                {"left": "m.hist", "op": "crosses_below", "right": 0},
                {"left": "r", "op": ">", "right": 85},
            ]
        },
    },
    "exit": {
        "long": {"left": "close", "op": "crosses_below", "right": "bb.lower"},
        "short": {"left": "atr_14", "op": ">", "right": 600},
    },
    "timeframe": "1h",
    "markets": ["BTC/USDT:USDT"],
}


def test_the_live_evaluation_fed_in_pieces_equals_the_backtest_for_every_indicator_kind() -> None:
    """Without the database: BTCUSDT 1h from 2017 (with its exchange outages), fed in uneven
    pieces as ticks deliver them, against the batch computation."""
    series = read_candles(shared_data_path("ohlcv", BTC_1H), timeframe_ms=3_600_000)
    candles = CandleArrays.from_rows(np.column_stack((series.open_time_ms, series.ohlcv))[:8_000])
    spec = StrategySpec.model_validate(EVERY_INDICATOR)
    expected = signals_for(bar_directions(compute_triggers(spec, candles)), cooldown_bars=7)

    live = LiveEvaluation(spec, cooldown_bars=7)
    decisions = []
    for start in range(0, len(candles), 333):
        decisions += live.feed(candles.slice(start, min(start + 333, len(candles))))

    assert [(d.bar_index, d.direction, d.suppressed) for d in decisions] == [
        (s.bar_index, s.direction, s.suppressed) for s in expected
    ]
    assert len(expected) > 500 and any(s.suppressed for s in expected)
