"""Candles, strategies and the backtest reference for the signals tests."""

from __future__ import annotations

from datetime import datetime

from apps.market.candles_io import CandleSeries, ms_to_datetime
from apps.market.models import Market
from apps.market.selectors import candle_arrays
from apps.market.services import candle_series_import
from apps.market.synthetic import random_walk_candles
from apps.market.timeframes import timeframe_ms
from apps.news.selectors import candle_sentiment
from apps.signals.models import Signal
from apps.strategies.decisions import bar_directions, signals_for
from apps.strategies.models import Strategy
from apps.strategies.presets import preset_spec_data
from apps.strategies.series import compute_triggers
from apps.strategies.spec import StrategySpec
from tests.factories import MarketFactory

START_MS = 1_700_000_040_000  # 2023-11-14 22:14 UTC, a whole minute and hour-unaligned on purpose
Row = tuple[datetime, str, str]  # candle open time, direction, status


def synthetic_series(*, bars: int, timeframe: str = "1m", seed: int = 7) -> CandleSeries:
    step = timeframe_ms(timeframe)
    # Volatile enough that RSI and Bollinger rules fire often in a few hundred bars.
    return random_walk_candles(
        start_ms=START_MS - START_MS % step,
        count=bars,
        timeframe_ms=step,
        start_price=28_000.0,
        seed=seed,
        price_decimals=1,
        volatility_per_bar=0.004,
    )


def stored_market(
    *, bars: int = 600, timeframe: str = "1m", seed: int = 7, symbol: str = "BTC/USDT:USDT", **fields: object
) -> Market:
    base = symbol.split("/")[0]
    market = MarketFactory(symbol=symbol, base=base, **fields)
    series = synthetic_series(bars=bars, timeframe=timeframe, seed=seed)
    candle_series_import(market=market, timeframe=timeframe, series=series, source="tests", synthetic=True)
    return market


def enabled_strategy(
    preset: str,
    *,
    timeframe: str = "1m",
    cooldown_bars: int = 0,
    markets: list[str] | None = None,
    name: str | None = None,
) -> Strategy:
    spec = preset_spec_data(preset, timeframe=timeframe, markets=markets or ["BTC/USDT:USDT"])
    spec["cooldown_bars"] = cooldown_bars
    return Strategy.objects.create(
        name=name or f"{preset} {timeframe} cd{cooldown_bars}",
        spec=spec,
        enabled=True,
        cooldown_bars=cooldown_bars,
    )


def reference(
    *, spec: StrategySpec, cooldown_bars: int, market: Market, timeframe: str, after: datetime | None = None
) -> list[Row]:
    """The backtest's signals over every stored candle (with the stored news as its sentiment, read
    at once): the worker must record exactly these."""
    candles = candle_arrays(market=market, timeframe=timeframe)
    sentiment = candle_sentiment(market=market, timeframe=timeframe, candles=candles)
    triggers = compute_triggers(spec, candles, sentiment=sentiment)
    signals = signals_for(bar_directions(triggers), cooldown_bars=cooldown_bars)
    rows = [
        (
            ms_to_datetime(int(candles.open_time[signal.bar_index])),
            signal.direction.value,
            Signal.Status.SUPPRESSED if signal.suppressed else Signal.Status.EMITTED,
        )
        for signal in signals
    ]
    return [row for row in rows if after is None or row[0] > after]


def strategy_reference(strategy: Strategy, market: Market, *, after: datetime | None = None) -> list[Row]:
    spec = strategy.parsed_spec()
    return reference(spec=spec, cooldown_bars=spec.cooldown_bars, market=market, timeframe=spec.timeframe, after=after)


def recorded(strategy: Strategy, *, version: int | None = None) -> list[Row]:
    signals = Signal.objects.filter(strategy=strategy)
    if version is not None:
        signals = signals.filter(strategy_version=version)
    return [
        (signal.candle_open_time, signal.direction, signal.status) for signal in signals.order_by("candle_open_time")
    ]
