"""Compiled per-value update rules; the batch functions and the streaming classes both run these.

Each indicator is one `*_step` function: it takes the indicator's state (a tuple of numbers, plus
a ring buffer for windowed indicators) and one input, and returns (output, new state). A batch
function runs that step in a compiled loop; a streaming class keeps the state between calls. There
is no second implementation that could drift, so feeding a series one value at a time gives the
batch result bit for bit: a live trader and a backtest over the same candles see the same numbers.
State is a tuple rather than an array so the compiled loop keeps it in registers.

The arithmetic copies TA-Lib 0.8 (the C library 0.8.1 in the ta-lib 0.8.2 wheel) operation for
operation, including where it uses a fused multiply-add (EMA, ATR) or multiplies by a reciprocal
instead of dividing (RSI), so on the BTCUSDT 1h series our SMA, EMA, RSI, ATR and MACD equal
TA-Lib's bit for bit. Older TA-Lib releases (plain division, no fma) round differently; emulating
them gives differences below 4e-15 relative. No `fastmath`: it would let LLVM reorder or fuse
operations and break both contracts.

Leading NaNs are skipped as TA-Lib's Python wrapper skips them: the warm-up counts from the first
value (the first candle, for ATR) without NaN.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import types
from numba.extending import intrinsic

NAN = math.nan

# error_model="numpy": no ZeroDivisionError checks in the loops; periods are validated before here.
# inline="always" for steps: left to LLVM, the bigger ones (Bollinger, MACD) stayed real calls, one
# per value with the state returned through memory, and ran twice as slow as inlined.
step = numba.njit(cache=True, error_model="numpy", inline="always")
loop = numba.njit(cache=True, error_model="numpy")


@intrinsic
def _fma(typingctx, a, b, c):
    """Correctly rounded a*b + c (llvm.fma): TA-Lib 0.8 calls C's fma() in its EMA and ATR."""
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):
        return builder.fma(*args)

    return sig, codegen


def ema_alpha(period: int) -> float:
    """TA-Lib's PER_TO_K: the smoothing factor of an EMA over `period` values."""
    return 2.0 / (period + 1)


# ---------------------------------------------------------------- shared pieces


@step
def _ema_core(count, value, x, period, alpha):
    """One EMA update where `x` is the EMA's `count`-th input (0-based); returns (output, value).

    During warm-up `value` holds the running sum; the seed is the plain average of the first
    `period` inputs, summed oldest first as TA-Lib does.
    """
    if period == 1:
        # TA-Lib returns the input itself for period 1; the recursion could be 1 ulp off it.
        return x, x
    if count < period - 1:
        return NAN, value + x
    if count == period - 1:
        seed = (value + x) / period
        return seed, seed
    smoothed = _fma(x - value, alpha, value)
    return smoothed, smoothed


@step
def true_range(high, low, prev_close):
    """TA-Lib's TRUE_RANGE, comparisons included.

    `>` rather than max() on purpose: a NaN previous close loses every comparison, so the range
    falls back to high - low, as in TA-Lib.
    """
    greatest = high - low
    up = abs(prev_close - high)
    if up > greatest:
        greatest = up
    down = abs(prev_close - low)
    if down > greatest:
        greatest = down
    return greatest


# ---------------------------------------------------------------- SMA

SMA_START = (0, 0.0, 0)  # (values seen, running total, next ring slot)


@step
def sma_step(window, state, x):
    """`window` is a ring buffer of `period` slots holding the last inputs."""
    count, total, slot = state
    if count == 0 and math.isnan(x):
        return NAN, state
    period = window.size
    window[slot] = x
    slot += 1
    if slot == period:
        slot = 0
    total += x
    if count < period - 1:
        return NAN, (count + 1, total, slot)
    value = total / period
    # TA-Lib drops the window's oldest value (now in the next slot) right after averaging.
    total -= window[slot]
    return value, (count + 1, total, slot)


@loop
def sma_batch(x, period):
    out = np.empty(x.size)
    window = np.zeros(period)
    state = SMA_START
    for i in range(x.size):
        out[i], state = sma_step(window, state, x[i])
    return out


# ---------------------------------------------------------------- EMA

EMA_START = (0, 0.0)  # (values seen, running sum during warm-up and then the EMA)


@step
def ema_step(state, x, period, alpha):
    count, value = state
    if count == 0 and math.isnan(x):
        return NAN, state
    out, value = _ema_core(count, value, x, period, alpha)
    return out, (count + 1, value)


@loop
def ema_batch(x, period, alpha):
    out = np.empty(x.size)
    state = EMA_START
    for i in range(x.size):
        out[i], state = ema_step(state, x[i], period, alpha)
    return out


# ---------------------------------------------------------------- RSI

RSI_START = (0, 0.0, 0.0, 0.0)  # (values seen, previous close, average gain, average loss)


@step
def rsi_step(state, x, period):
    """Wilder: avg = (avg * (period-1) + today) / period, the division done as TA-Lib 0.8 does it,
    a multiplication by 1/period."""
    count, prev, gain, loss = state
    if count == 0:
        if math.isnan(x):
            return NAN, state
        return NAN, (1, x, 0.0, 0.0)
    change = x - prev
    up = change if change > 0.0 else 0.0
    down = up - change
    if count > period:
        gain = gain * (period - 1) + up
        loss = loss * (period - 1) + down
    else:
        gain += up
        loss += down
    if count < period:
        return NAN, (count + 1, x, gain, loss)
    inv_period = 1.0 / period
    gain *= inv_period
    loss *= inv_period
    total = gain + loss
    if total > 0.0:
        value = gain / total * 100.0
    elif total == 0.0:
        # No movement over the whole smoothing: TA-Lib reports 0, not 50.
        value = 0.0
    else:
        # NaN after a NaN close. TA-Lib says 0 here, for ever; a made-up 0 reads as "deeply
        # oversold" to a trigger, so we keep the NaN.
        value = NAN
    return value, (count + 1, x, gain, loss)


@loop
def rsi_batch(x, period):
    out = np.empty(x.size)
    state = RSI_START
    for i in range(x.size):
        out[i], state = rsi_step(state, x[i], period)
    return out


# ---------------------------------------------------------------- ATR

ATR_START = (0, 0.0, 0.0)  # (candles seen, previous close, running sum of TR and then the ATR)


@step
def atr_step(state, high, low, close, period):
    count, prev_close, value = state
    if count == 0:
        if math.isnan(high) or math.isnan(low) or math.isnan(close):
            return NAN, state
        return NAN, (1, close, 0.0)
    tr = true_range(high, low, prev_close)
    if count < period:
        return NAN, (count + 1, close, value + tr)
    if count == period:
        atr = (value + tr) / period
    else:
        # Wilder's (atr * (period-1) + tr) / period in TA-Lib 0.8's form: fma(atr, keep, tr * (1-keep)).
        # For period 1 that is exactly the true range, except that a NaN stays (as in TA-Lib).
        keep = (period - 1) / period
        atr = _fma(value, keep, tr * (1.0 - keep))
    return atr, (count + 1, close, atr)


@loop
def atr_batch(high, low, close, period):
    out = np.empty(close.size)
    state = ATR_START
    for i in range(close.size):
        out[i], state = atr_step(state, high[i], low[i], close[i], period)
    return out


# ---------------------------------------------------------------- Bollinger Bands

# (values seen, running total, next ring slot, anchor K, sum of x-K, sum of (x-K)^2)
BB_START = (0, 0.0, 0, 0.0, 0.0, 0.0)


@step
def bollinger_step(window, state, x, k):
    """Returns ((upper, middle, lower), state); the middle band is sma_step's, bit for bit.

    sigma comes from sums of deviations from an anchor K inside the window: var = E[(x-K)^2] -
    E[x-K]^2. The deviations are small next to the prices, so this does not cancel the way the
    textbook E[x^2] - E[x]^2 does at BTC prices, and the sums are rebuilt from the window every
    `period` values so that rounding from sliding them cannot build up.
    """
    count, total, slot, anchor, dev_sum, dev_sq_sum = state
    if count == 0 and math.isnan(x):
        return (NAN, NAN, NAN), state
    period = window.size
    leaving = window[slot]  # the value dropping out of the window, once it is full
    window[slot] = x
    slot += 1
    if slot == period:
        slot = 0
    total += x
    if count < period - 1:
        return (NAN, NAN, NAN), (count + 1, total, slot, anchor, dev_sum, dev_sq_sum)
    middle = total / period
    total -= window[slot]

    if slot == 0:
        # Every `period` values the ring is in time order (oldest in slot 0): rebuild the sums there.
        anchor = x
        dev_sum = 0.0
        dev_sq_sum = 0.0
        for i in range(period):
            dev = window[i] - anchor
            dev_sum += dev
            dev_sq_sum += dev * dev
    else:
        dev_in = x - anchor
        dev_out = leaving - anchor
        dev_sum = dev_sum + dev_in - dev_out
        dev_sq_sum = dev_sq_sum + dev_in * dev_in - dev_out * dev_out

    # Multiplying by 1/period (hoisted out of the batch loop) instead of dividing: sigma is not
    # TA-Lib's bit for bit anyway, and the two divisions cost a third of the time (4.3 -> 2.9 ms).
    inv_period = 1.0 / period
    mean_dev = dev_sum * inv_period
    variance = dev_sq_sum * inv_period - mean_dev * mean_dev
    if variance < 0.0:
        # Rounding on a flat window; TA-Lib clamps to 0 too. NaN stays NaN.
        variance = 0.0
    width = math.sqrt(variance) * k
    bands = (middle + width, middle, middle - width)
    return bands, (count + 1, total, slot, anchor, dev_sum, dev_sq_sum)


@loop
def bollinger_batch(x, period, k):
    upper = np.empty(x.size)
    middle = np.empty(x.size)
    lower = np.empty(x.size)
    window = np.zeros(period)
    state = BB_START
    for i in range(x.size):
        bands, state = bollinger_step(window, state, x[i], k)
        upper[i] = bands[0]
        middle[i] = bands[1]
        lower[i] = bands[2]
    return upper, middle, lower


# ---------------------------------------------------------------- MACD

MACD_START = (0, 0.0, 0.0, 0.0)  # (values seen, fast EMA, slow EMA, signal EMA)


@step
def macd_step(state, x, fast, slow, signal, fast_alpha, slow_alpha, signal_alpha):
    """Returns ((macd, signal, histogram), state), all NaN until the signal line exists, as in TA-Lib.

    TA-Lib starts both EMAs at index slow-1: the slow one seeded with the average of the first
    `slow` values, the fast one with the average of the `fast` values ending there (not from 0).
    """
    count, fast_value, slow_value, signal_value = state
    if count > slow - 1 + signal - 1:
        # Warmed up: the same operations _ema_core performs from here on, without its warm-up
        # branches, which made the whole step about twice as slow.
        slow_value = _fma(x - slow_value, slow_alpha, slow_value)
        fast_value = _fma(x - fast_value, fast_alpha, fast_value)
        line = fast_value - slow_value
        signal_value = line if signal == 1 else _fma(line - signal_value, signal_alpha, signal_value)
        return (line, signal_value, line - signal_value), (count + 1, fast_value, slow_value, signal_value)
    if count == 0 and math.isnan(x):
        return (NAN, NAN, NAN), state
    slow_out, slow_value = _ema_core(count, slow_value, x, slow, slow_alpha)
    fast_start = slow - fast
    fast_out = NAN
    if count >= fast_start:
        fast_out, fast_value = _ema_core(count - fast_start, fast_value, x, fast, fast_alpha)
    lines = (NAN, NAN, NAN)
    if count >= slow - 1:
        line = fast_out - slow_out
        signal_out, signal_value = _ema_core(count - (slow - 1), signal_value, line, signal, signal_alpha)
        if count >= slow - 1 + signal - 1:
            lines = (line, signal_out, line - signal_out)
    return lines, (count + 1, fast_value, slow_value, signal_value)


@loop
def macd_batch(x, fast, slow, signal, fast_alpha, slow_alpha, signal_alpha):
    line = np.empty(x.size)
    signal_line = np.empty(x.size)
    histogram = np.empty(x.size)
    state = MACD_START
    for i in range(x.size):
        lines, state = macd_step(state, x[i], fast, slow, signal, fast_alpha, slow_alpha, signal_alpha)
        line[i] = lines[0]
        signal_line[i] = lines[1]
        histogram[i] = lines[2]
    return line, signal_line, histogram
