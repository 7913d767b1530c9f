"""Turn candles into the named series a spec's rules read, in batch or one candle at a time
(pure; no Django).

`compute_series` serves backtests (all bars at once); `StreamingEvaluator` serves the live
worker (one closed candle at a time, O(1) per candle). Both use the same indicator step
functions and the same trigger code, so a replay decides exactly what the backtest decided.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from apps.market.arrays import CandleArrays
from apps.strategies import indicators as ind
from apps.strategies.spec import ATR, EMA, MACD, RSI, SMA, BBands, Indicator, StrategySpec
from apps.strategies.triggers import Triggers, triggers

# Sentiment with no scored headline behind it (apps.news.rolling: none in the window before the close)
# is missing (NaN, as an indicator before its warm-up), not neutral, so every rule that reads it is
# false rather than deciding on a made-up 0. Callers pass the series; this package never reads news.
MISSING_SENTIMENT = math.nan


@dataclass(frozen=True)
class Bar:
    """One closed candle, as the live worker sees it."""

    open_time: int
    open: float
    high: float
    low: float
    close: float
    volume: float


def _indicator_series(indicator: Indicator, candles: CandleArrays) -> dict[str, np.ndarray]:
    if isinstance(indicator, ATR):
        return {indicator.id: ind.atr(candles.high, candles.low, candles.close, indicator.period)}
    source = candles.column(indicator.source)
    if isinstance(indicator, BBands):
        bands = ind.bollinger_bands(source, indicator.period, indicator.k)
        return {f"{indicator.id}.{name}": getattr(bands, name) for name in ("upper", "middle", "lower")}
    if isinstance(indicator, MACD):
        result = ind.macd(source, indicator.fast, indicator.slow, indicator.signal)
        return {
            f"{indicator.id}.macd": result.macd,
            f"{indicator.id}.signal": result.signal,
            f"{indicator.id}.hist": result.histogram,
        }
    batch = {SMA: ind.sma, EMA: ind.ema, RSI: ind.rsi}[type(indicator)]
    return {indicator.id: batch(source, indicator.period)}


def compute_series(
    spec: StrategySpec, candles: CandleArrays, *, sentiment: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    series: dict[str, np.ndarray] = {name: candles.column(name) for name in ("open", "high", "low", "close", "volume")}
    series["sentiment"] = sentiment if sentiment is not None else np.full(len(candles), MISSING_SENTIMENT)
    for indicator in spec.indicators:
        series.update(_indicator_series(indicator, candles))
    return series


def compute_triggers(spec: StrategySpec, candles: CandleArrays, *, sentiment: np.ndarray | None = None) -> Triggers:
    return triggers(spec, compute_series(spec, candles, sentiment=sentiment))


def _new_stream(indicator: Indicator) -> object:
    if isinstance(indicator, ATR):
        return ind.ATRStream(indicator.period)
    if isinstance(indicator, BBands):
        return ind.BollingerStream(indicator.period, indicator.k)
    if isinstance(indicator, MACD):
        return ind.MACDStream(indicator.fast, indicator.slow, indicator.signal)
    return {SMA: ind.SMAStream, EMA: ind.EMAStream, RSI: ind.RSIStream}[type(indicator)](indicator.period)


def _stream_values(indicator: Indicator, stream: object, bar: Bar) -> dict[str, float]:
    if isinstance(indicator, ATR):
        return {indicator.id: stream.update(bar.high, bar.low, bar.close)}  # type: ignore[attr-defined]
    value = stream.update(getattr(bar, indicator.source))  # type: ignore[attr-defined]
    if isinstance(indicator, BBands):
        return {f"{indicator.id}.{name}": getattr(value, name) for name in ("upper", "middle", "lower")}
    if isinstance(indicator, MACD):
        return {
            f"{indicator.id}.macd": value.macd,
            f"{indicator.id}.signal": value.signal,
            f"{indicator.id}.hist": value.histogram,
        }
    return {indicator.id: value}


class StreamingEvaluator:
    """Feed closed candles in order; after each, the triggers for that candle."""

    def __init__(self, spec: StrategySpec) -> None:
        self.spec = spec
        self._streams = [(indicator, _new_stream(indicator)) for indicator in spec.indicators]
        self._previous: dict[str, float] | None = None
        self.last_values: dict[str, float] = {}

    def update(self, bar: Bar, *, sentiment: float = MISSING_SENTIMENT) -> Triggers:
        current: dict[str, float] = {name: float(getattr(bar, name)) for name in ("open", "high", "low", "close")}
        current["volume"] = float(bar.volume)
        current["sentiment"] = float(sentiment)
        for indicator, stream in self._streams:
            current.update(_stream_values(indicator, stream, bar))
        previous = self._previous or dict.fromkeys(current, np.nan)
        window: Mapping[str, np.ndarray] = {name: np.array([previous[name], value]) for name, value in current.items()}
        pair = triggers(self.spec, window)
        self._previous, self.last_values = current, current
        return Triggers(
            long_entry=pair.long_entry[1:],
            long_exit=pair.long_exit[1:],
            short_entry=pair.short_entry[1:],
            short_exit=pair.short_exit[1:],
        )
