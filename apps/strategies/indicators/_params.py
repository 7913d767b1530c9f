"""Parameter and input checks shared by the batch functions and the streaming classes."""

from __future__ import annotations

import math
import operator

import numpy as np
import numpy.typing as npt

# TA-Lib rejects periods above this; so do we, rather than allocate a huge ring buffer.
MAX_PERIOD = 100_000


def check_period(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    try:
        period = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}") from None
    if not minimum <= period <= MAX_PERIOD:
        raise ValueError(f"{name} must be between {minimum} and {MAX_PERIOD}, got {period}")
    return period


def check_macd_periods(fast: object, slow: object, signal: object) -> tuple[int, int, int]:
    fast_period = check_period("fast", fast, 2)
    slow_period = check_period("slow", slow, 2)
    signal_period = check_period("signal", signal, 1)
    if fast_period >= slow_period:
        # TA-Lib silently swaps them; a swapped config is a typo we would rather hear about.
        raise ValueError(f"fast must be < slow, got fast={fast_period}, slow={slow_period}")
    return fast_period, slow_period, signal_period


def check_band_width(k: object) -> float:
    try:
        width = float(k)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"k must be a finite number >= 0, got {k!r}") from None
    if not math.isfinite(width) or width < 0.0:
        raise ValueError(f"k must be a finite number >= 0, got {k!r}")
    return width


def as_series(name: str, values: npt.ArrayLike) -> npt.NDArray[np.float64]:
    array = np.ascontiguousarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    return array


def as_candles(
    high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    h, lo, c = as_series("high", high), as_series("low", low), as_series("close", close)
    if not h.size == lo.size == c.size:
        raise ValueError(f"high, low and close must have the same length, got {h.size}, {lo.size}, {c.size}")
    return h, lo, c
