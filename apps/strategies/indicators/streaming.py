"""Incremental indicators for live use: feed one value (or one candle) at a time.

Each object keeps the state its batch counterpart carries through its loop (a small tuple), and
`update` runs the same compiled step (see `_kernels`), so feeding a series one value at a time
returns exactly the batch values, bit for bit. State is O(1) for EMA, RSI, ATR and MACD; SMA and
Bollinger Bands also keep their window (`period` floats), which a moving window cannot do without;
updates are O(1) work (Bollinger rebuilds its sums every `period` values: O(1) amortised).

`update` returns the current value, NaN until the warm-up (`lookback` values after the first
non-NaN input) is over. EMA, RSI, ATR and MACD depend on the whole history, so a live stream
reproduces a backtest's numbers only when fed the same history from the same first candle.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from apps.strategies.indicators import _kernels as kernels
from apps.strategies.indicators._params import check_band_width, check_macd_periods, check_period


class BollingerValue(NamedTuple):
    upper: float
    middle: float
    lower: float


class MACDValue(NamedTuple):
    macd: float
    signal: float
    histogram: float


_NAN_BANDS = BollingerValue(math.nan, math.nan, math.nan)
_NAN_MACD = MACDValue(math.nan, math.nan, math.nan)


class _Stream:
    """Shared bookkeeping. `_state` is the kernel's state tuple; its first item counts inputs."""

    lookback: int
    _start: tuple

    def __init__(self) -> None:
        self._state = self._start

    @property
    def count(self) -> int:
        """Inputs consumed since the first non-NaN one (leading NaNs are skipped, as in TA-Lib)."""
        return int(self._state[0])

    @property
    def ready(self) -> bool:
        """True once the warm-up is over (a NaN input later still yields NaN values)."""
        return self.count > self.lookback

    def reset(self) -> None:
        self._state = self._start


class SMAStream(_Stream):
    _start = kernels.SMA_START

    def __init__(self, period: int) -> None:
        self.period = check_period("period", period, 1)
        self.lookback = self.period - 1
        super().__init__()
        self._window = np.zeros(self.period)
        self.value = math.nan

    def update(self, value: float) -> float:
        self.value, self._state = kernels.sma_step(self._window, self._state, float(value))
        return self.value

    def reset(self) -> None:
        super().reset()
        self._window = np.zeros(self.period)
        self.value = math.nan


class EMAStream(_Stream):
    _start = kernels.EMA_START

    def __init__(self, period: int) -> None:
        self.period = check_period("period", period, 1)
        self.lookback = self.period - 1
        self._alpha = kernels.ema_alpha(self.period)
        super().__init__()
        self.value = math.nan

    def update(self, value: float) -> float:
        self.value, self._state = kernels.ema_step(self._state, float(value), self.period, self._alpha)
        return self.value

    def reset(self) -> None:
        super().reset()
        self.value = math.nan


class RSIStream(_Stream):
    _start = kernels.RSI_START

    def __init__(self, period: int = 14) -> None:
        self.period = check_period("period", period, 2)
        self.lookback = self.period
        super().__init__()
        self.value = math.nan

    def update(self, close: float) -> float:
        self.value, self._state = kernels.rsi_step(self._state, float(close), self.period)
        return self.value

    def reset(self) -> None:
        super().reset()
        self.value = math.nan


class ATRStream(_Stream):
    _start = kernels.ATR_START

    def __init__(self, period: int = 14) -> None:
        self.period = check_period("period", period, 1)
        self.lookback = self.period
        super().__init__()
        self.value = math.nan

    def update(self, high: float, low: float, close: float) -> float:
        self.value, self._state = kernels.atr_step(self._state, float(high), float(low), float(close), self.period)
        return self.value

    def reset(self) -> None:
        super().reset()
        self.value = math.nan


class BollingerStream(_Stream):
    _start = kernels.BB_START

    def __init__(self, period: int = 20, k: float = 2.0) -> None:
        self.period = check_period("period", period, 2)
        self.k = check_band_width(k)
        self.lookback = self.period - 1
        super().__init__()
        self._window = np.zeros(self.period)
        self.value = _NAN_BANDS

    def update(self, close: float) -> BollingerValue:
        bands, self._state = kernels.bollinger_step(self._window, self._state, float(close), self.k)
        self.value = BollingerValue(*bands)
        return self.value

    def reset(self) -> None:
        super().reset()
        self._window = np.zeros(self.period)
        self.value = _NAN_BANDS


class MACDStream(_Stream):
    _start = kernels.MACD_START

    def __init__(self, fast: int = 12, slow: int = 26, signal: int = 9) -> None:
        self.fast, self.slow, self.signal = check_macd_periods(fast, slow, signal)
        self.lookback = self.slow - 1 + self.signal - 1
        self._alphas = (
            kernels.ema_alpha(self.fast),
            kernels.ema_alpha(self.slow),
            kernels.ema_alpha(self.signal),
        )
        super().__init__()
        self.value = _NAN_MACD

    def update(self, close: float) -> MACDValue:
        lines, self._state = kernels.macd_step(
            self._state, float(close), self.fast, self.slow, self.signal, *self._alphas
        )
        self.value = MACDValue(*lines)
        return self.value

    def reset(self) -> None:
        super().reset()
        self.value = _NAN_MACD
