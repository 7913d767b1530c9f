"""Indicators over whole float64 series, aligned with TA-Lib.

Every function returns arrays as long as its input: NaN up to the first valid index (TA-Lib's
lookback), values from there on. A series shorter than that comes back all NaN.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from apps.strategies.indicators import _kernels as kernels
from apps.strategies.indicators._params import (
    as_candles,
    as_series,
    check_band_width,
    check_macd_periods,
    check_period,
)

FloatArray = npt.NDArray[np.float64]


class BollingerResult(NamedTuple):
    upper: FloatArray
    middle: FloatArray
    lower: FloatArray


class MACDResult(NamedTuple):
    macd: FloatArray
    signal: FloatArray
    histogram: FloatArray


def sma(values: npt.ArrayLike, period: int) -> FloatArray:
    """Simple moving average; first valid index period-1. TA-Lib's running total, bit for bit."""
    period = check_period("period", period, 1)
    return kernels.sma_batch(as_series("values", values), period)


def ema(values: npt.ArrayLike, period: int) -> FloatArray:
    """EMA with alpha 2/(period+1), seeded with the SMA of the first `period` values (index period-1)."""
    period = check_period("period", period, 1)
    return kernels.ema_batch(as_series("values", values), period, kernels.ema_alpha(period))


def rsi(close: npt.ArrayLike, period: int = 14) -> FloatArray:
    """Wilder's RSI; first valid index `period`. 0 when the averages of gains and losses are both 0."""
    period = check_period("period", period, 2)
    return kernels.rsi_batch(as_series("close", close), period)


def atr(high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, period: int = 14) -> FloatArray:
    """Wilder's average true range; first valid index `period` (the first bar has no true range).

    Seeded with the mean of the true ranges of bars 1..period. Period 1 is the true range itself.
    """
    period = check_period("period", period, 1)
    h, lo, c = as_candles(high, low, close)
    return kernels.atr_batch(h, lo, c, period)


def bollinger_bands(close: npt.ArrayLike, period: int = 20, k: float = 2.0) -> BollingerResult:
    """SMA middle band ± k population standard deviations of the same window; first valid period-1."""
    period = check_period("period", period, 2)
    width = check_band_width(k)
    return BollingerResult(*kernels.bollinger_batch(as_series("close", close), period, width))


def macd(close: npt.ArrayLike, fast: int = 12, slow: int = 26, signal: int = 9) -> MACDResult:
    """MACD line, signal line and histogram, all starting at index slow-1 + signal-1 like TA-Lib.

    The two EMAs both start at index slow-1 (the fast one seeded from the `fast` values ending
    there), and the MACD line is hidden until its signal EMA is seeded.
    """
    fast, slow, signal = check_macd_periods(fast, slow, signal)
    line, signal_line, histogram = kernels.macd_batch(
        as_series("close", close),
        fast,
        slow,
        signal,
        kernels.ema_alpha(fast),
        kernels.ema_alpha(slow),
        kernels.ema_alpha(signal),
    )
    return MACDResult(line, signal_line, histogram)
