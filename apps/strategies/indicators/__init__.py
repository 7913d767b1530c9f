"""Technical indicators: batch functions over numpy series and streaming classes for live use.

Pure computation: nothing here imports Django. Values and alignment follow TA-Lib (checked against
it in tests/strategies/test_indicators.py): same seeds, same first valid index, NaN before it.

NaN policy. Leading NaNs are skipped, as TA-Lib's Python wrapper does: the warm-up starts at the
first value (the first candle for ATR) with no NaN, so an indicator of an indicator lines up.
A NaN after that point poisons the running state, so that output and every later one are NaN,
which is also what TA-Lib returns for SMA, EMA, Bollinger Bands and MACD. Kept from TA-Lib as
well: ATR ignores a NaN *previous close* (that true range falls back to high - low), and EMA(1)
returns the input itself, so a NaN there spoils only its own row.
Not kept: after a NaN TA-Lib's RSI reports 0.0 for ever, which a trigger would read as "deeply
oversold"; ours reports NaN.
"""

from __future__ import annotations

from apps.strategies.indicators.batch import (
    BollingerResult,
    MACDResult,
    atr,
    bollinger_bands,
    ema,
    macd,
    rsi,
    sma,
)
from apps.strategies.indicators.streaming import (
    ATRStream,
    BollingerStream,
    BollingerValue,
    EMAStream,
    MACDStream,
    MACDValue,
    RSIStream,
    SMAStream,
)

__all__ = [
    "ATRStream",
    "BollingerResult",
    "BollingerStream",
    "BollingerValue",
    "EMAStream",
    "MACDResult",
    "MACDStream",
    "MACDValue",
    "RSIStream",
    "SMAStream",
    "atr",
    "bollinger_bands",
    "ema",
    "macd",
    "rsi",
    "sma",
]
