"""Indicator library: TA-Lib parity, StockCharts worked examples, NaN policy, streaming == batch.

References named in each test:
- TA-Lib (the `talib` package, test-only) on the real Binance BTCUSDT 1h series 2017-2022;
- the StockCharts ChartSchool worked examples in ../shared/data/indicator_reference (cs-*.csv).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.strategies.indicators import (
    ATRStream,
    BollingerStream,
    BollingerValue,
    EMAStream,
    MACDStream,
    MACDValue,
    RSIStream,
    SMAStream,
    atr,
    bollinger_bands,
    ema,
    macd,
    rsi,
    sma,
)
from tests.strategies.conftest import Candles, read_reference_csv

NAN = np.nan

# ---------------------------------------------------------------- helpers


def assert_matches(ours, reference, *, rtol: float, scale=None) -> None:
    """Same NaN positions (hence the same first valid index), then |ours - ref| <= rtol * max(|ref|, scale)."""
    ours = np.asarray(ours, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    assert ours.shape == reference.shape
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(reference), err_msg="NaN positions differ")
    valid = ~np.isnan(reference)
    magnitude = np.abs(reference[valid])
    if scale is not None:
        magnitude = np.maximum(magnitude, np.abs(np.asarray(scale, dtype=np.float64)[valid]))
    error = np.abs(ours[valid] - reference[valid])
    bad = error > rtol * magnitude
    if bad.any():
        worst = int(np.argmax(np.where(bad, error / np.maximum(magnitude, 1e-300), 0.0)))
        index = int(np.flatnonzero(valid)[worst])
        raise AssertionError(
            f"{int(bad.sum())} values beyond rtol {rtol:g}; worst at index {index}: "
            f"ours {ours[index]!r}, reference {reference[index]!r}"
        )


def first_valid(values: np.ndarray) -> int:
    return int(np.flatnonzero(~np.isnan(values))[0])


def stream_series(stream, values) -> np.ndarray:
    return np.array([stream.update(v) for v in values], dtype=np.float64)


def stream_candles(stream: ATRStream, high, low, close) -> np.ndarray:
    return np.array([stream.update(h, lo, c) for h, lo, c in zip(high, low, close, strict=True)])


# ---------------------------------------------------------------- TA-Lib parity on real data


@pytest.mark.parametrize("period", [1, 2, 20, 200])
def test_sma_matches_talib_on_btcusdt(talib, btcusdt_1h: Candles, period: int) -> None:
    """Reference: talib.SMA on Binance BTCUSDT 1h; same NaN prefix, values to 1e-9 relative."""
    assert_matches(sma(btcusdt_1h.close, period), talib.SMA(btcusdt_1h.close, period), rtol=1e-9)


@pytest.mark.parametrize("period", [1, 2, 12, 26, 200])
def test_ema_matches_talib_on_btcusdt(talib, btcusdt_1h: Candles, period: int) -> None:
    """Reference: talib.EMA (seeded with the SMA of the first `period` closes) on BTCUSDT 1h."""
    assert_matches(ema(btcusdt_1h.close, period), talib.EMA(btcusdt_1h.close, period), rtol=1e-9)


@pytest.mark.parametrize("period", [2, 14, 50])
def test_rsi_matches_talib_on_btcusdt(talib, btcusdt_1h: Candles, period: int) -> None:
    """Reference: talib.RSI (Wilder, first value at index `period`) on BTCUSDT 1h."""
    assert_matches(rsi(btcusdt_1h.close, period), talib.RSI(btcusdt_1h.close, period), rtol=1e-9)


@pytest.mark.parametrize("period", [1, 2, 14, 100])
def test_atr_matches_talib_on_btcusdt(talib, btcusdt_1h: Candles, period: int) -> None:
    """Reference: talib.ATR (Wilder, first value at index `period`; ATR(1) is TRANGE) on BTCUSDT 1h."""
    h, lo, c = btcusdt_1h
    assert_matches(atr(h, lo, c, period), talib.ATR(h, lo, c, period), rtol=1e-9)


@pytest.mark.parametrize(("period", "k"), [(2, 2.0), (20, 2.0), (50, 1.5)])
def test_bollinger_bands_match_talib_on_btcusdt(talib, btcusdt_1h: Candles, period: int, k: float) -> None:
    """Reference: talib.BBANDS (SMA middle, population sigma, nbdevup = nbdevdn = k) on BTCUSDT 1h, 1e-8 relative.

    Our sigma is computed differently from TA-Lib's (see _kernels.bollinger_step), hence the looser bound.
    """
    ours = bollinger_bands(btcusdt_1h.close, period, k)
    reference = talib.BBANDS(btcusdt_1h.close, period, k, k)
    for mine, theirs in zip(ours, reference, strict=True):
        assert_matches(mine, theirs, rtol=1e-8)


@pytest.mark.parametrize(("fast", "slow", "signal"), [(12, 26, 9), (5, 35, 5), (2, 3, 1)])
def test_macd_matches_talib_on_btcusdt(talib, btcusdt_1h: Candles, fast: int, slow: int, signal: int) -> None:
    """Reference: talib.MACD on BTCUSDT 1h; all three outputs start at slow-1 + signal-1.

    MACD is a difference of two EMAs at the price level and crosses zero, so a relative bound on
    the difference alone is meaningless near a crossing: the error is bounded relative to the
    price the EMAs are computed at, 1e-9 * max(|value|, close).
    """
    close = btcusdt_1h.close
    ours = macd(close, fast, slow, signal)
    reference = talib.MACD(close, fast, slow, signal)
    assert first_valid(reference[0]) == slow - 1 + signal - 1
    for mine, theirs in zip(ours, reference, strict=True):
        assert_matches(mine, theirs, rtol=1e-9, scale=close)


# ---------------------------------------------------------------- TA-Lib edge behaviour


def _walk(n: int, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))


# Each case: our call, TA-Lib's call, the series. Chosen for a TA-Lib quirk each.
EDGE_CASES: dict[str, tuple[Callable, Callable, np.ndarray]] = {
    "rsi flat start gives 0": (lambda x: rsi(x, 14), lambda t, x: t.RSI(x, 14), np.r_[np.full(30, 100.0), _walk(60)]),
    "ema period 1 is the input": (lambda x: ema(x, 1), lambda t, x: t.EMA(x, 1), _walk(200) * 1e3),
    "sma period 1 is the input": (lambda x: sma(x, 1), lambda t, x: t.SMA(x, 1), _walk(200)),
    "bollinger flat window has zero width": (
        lambda x: bollinger_bands(x, 5, 2.0).upper,
        lambda t, x: t.BBANDS(x, 5, 2.0, 2.0)[0],
        np.r_[np.full(10, 7.3), _walk(20)],
    ),
    "macd signal period 1": (lambda x: macd(x, 2, 3, 1).histogram, lambda t, x: t.MACD(x, 2, 3, 1)[2], _walk(50)),
    "leading NaNs skipped, sma": (lambda x: sma(x, 5), lambda t, x: t.SMA(x, 5), np.r_[[NAN] * 4, _walk(30)]),
    "leading NaNs skipped, ema": (lambda x: ema(x, 5), lambda t, x: t.EMA(x, 5), np.r_[[NAN] * 4, _walk(30)]),
    "leading NaNs skipped, rsi": (lambda x: rsi(x, 5), lambda t, x: t.RSI(x, 5), np.r_[[NAN] * 4, _walk(30)]),
    "leading NaNs skipped, macd": (
        lambda x: macd(x, 3, 6, 4).signal,
        lambda t, x: t.MACD(x, 3, 6, 4)[1],
        np.r_[[NAN] * 4, _walk(30)],
    ),
    "leading NaNs skipped, bollinger": (
        lambda x: bollinger_bands(x, 5, 2.0).lower,
        lambda t, x: t.BBANDS(x, 5, 2.0, 2.0)[2],
        np.r_[[NAN] * 4, _walk(30)],
    ),
    "ema period 1: a NaN spoils only its own row": (
        lambda x: ema(x, 1),
        lambda t, x: t.EMA(x, 1),
        np.r_[_walk(10), NAN, _walk(10)],
    ),
    "all NaN": (lambda x: ema(x, 3), lambda t, x: t.EMA(x, 3), np.full(6, NAN)),
    "interior NaN poisons sma": (lambda x: sma(x, 5), lambda t, x: t.SMA(x, 5), np.r_[_walk(20), NAN, _walk(20)]),
    "interior NaN poisons ema": (lambda x: ema(x, 5), lambda t, x: t.EMA(x, 5), np.r_[_walk(20), NAN, _walk(20)]),
    "interior NaN poisons bollinger": (
        lambda x: bollinger_bands(x, 5, 2.0).middle,
        lambda t, x: t.BBANDS(x, 5, 2.0, 2.0)[1],
        np.r_[_walk(20), NAN, _walk(20)],
    ),
    "interior NaN poisons macd": (
        lambda x: macd(x, 3, 6, 4).macd,
        lambda t, x: t.MACD(x, 3, 6, 4)[0],
        np.r_[_walk(20), NAN, _walk(20)],
    ),
}


@pytest.mark.parametrize("case", list(EDGE_CASES))
def test_edge_cases_match_talib(talib, case: str) -> None:
    """Reference: talib on small synthetic series built to hit one TA-Lib behaviour each (see the case name)."""
    ours_fn, talib_fn, series = EDGE_CASES[case]
    assert_matches(ours_fn(series), talib_fn(talib, series), rtol=1e-12)


def test_atr_nan_handling_matches_talib(talib) -> None:
    """Reference: talib.ATR. A NaN close is forgotten (next true range = high - low); a NaN high poisons."""
    close = _walk(60)
    high, low = close * 1.01, close * 0.99
    nan_close = close.copy()
    nan_close[30] = NAN
    assert_matches(atr(high, low, nan_close, 5), talib.ATR(high, low, nan_close, 5), rtol=1e-12)
    assert not np.isnan(atr(high, low, nan_close, 5)[5:]).any()
    nan_high = high.copy()
    nan_high[30] = NAN
    assert_matches(atr(nan_high, low, close, 5), talib.ATR(nan_high, low, close, 5), rtol=1e-12)
    assert np.isnan(atr(nan_high, low, close, 5)[30:]).all()
    # ATR(1) equals TRANGE on finite data, but TA-Lib 0.8 keeps smoothing, so a NaN stays too.
    assert_matches(atr(nan_high, low, close, 1), talib.ATR(nan_high, low, close, 1), rtol=1e-12)
    assert np.isnan(atr(nan_high, low, close, 1)[30:]).all()


def test_rsi_after_interior_nan_is_nan_where_talib_says_zero(talib) -> None:
    """Reference: talib.RSI, equal before the NaN. After it TA-Lib reports 0.0 for ever (its zero guard
    takes NaN for zero); we deliberately keep NaN, because 0 would read as "deeply oversold"."""
    close = np.r_[_walk(40), NAN, _walk(20)]
    ours, reference = rsi(close, 5), talib.RSI(close, 5)
    assert_matches(ours[:40], reference[:40], rtol=1e-12)
    assert np.isnan(ours[40:]).all()
    np.testing.assert_array_equal(reference[40:], 0.0)  # the TA-Lib quirk we do not copy


# ---------------------------------------------------------------- alignment, no reference library

LOOKBACKS: list[tuple[str, Callable[[np.ndarray], np.ndarray], int]] = [
    ("sma 1", lambda x: sma(x, 1), 0),
    ("sma 10", lambda x: sma(x, 10), 9),
    ("ema 10", lambda x: ema(x, 10), 9),
    ("rsi 14", lambda x: rsi(x, 14), 14),
    ("atr 14", lambda x: atr(x * 1.01, x * 0.99, x, 14), 14),
    ("atr 1", lambda x: atr(x * 1.01, x * 0.99, x, 1), 1),
    ("bollinger 20", lambda x: bollinger_bands(x, 20).middle, 19),
    ("macd 12/26/9", lambda x: macd(x).signal, 33),
]


@pytest.mark.parametrize(("name", "fn", "lookback"), LOOKBACKS, ids=[case[0] for case in LOOKBACKS])
def test_first_valid_index_and_short_inputs(name: str, fn, lookback: int) -> None:
    """TA-Lib's lookbacks: a series of `lookback` values is all NaN (same length); one more gives one value."""
    for length in range(lookback + 1):
        out = fn(_walk(length))
        assert out.shape == (length,) and np.isnan(out).all(), f"length {length}"
    out = fn(_walk(lookback + 1))
    assert np.isnan(out[:-1]).all() and np.isfinite(out[-1])


def test_macd_seeds_the_fast_ema_from_the_values_ending_at_slow_minus_one() -> None:
    """TA-Lib's MACD seeding rebuilt from our EMA: the fast EMA runs over x[slow-fast:] (so it starts at
    index slow-1, not 0), the signal is an EMA of the MACD line, and all outputs start at slow-1+signal-1."""
    x = _walk(300)
    fast, slow, signal = 12, 26, 9
    fast_ema = np.r_[np.full(slow - fast, NAN), ema(x[slow - fast :], fast)]
    line = fast_ema - ema(x, slow)
    expected_signal = ema(line, signal)  # leading NaNs of `line` are skipped
    lookback = slow - 1 + signal - 1
    result = macd(x, fast, slow, signal)
    np.testing.assert_array_equal(result.macd, np.r_[np.full(lookback, NAN), line[lookback:]])
    np.testing.assert_array_equal(result.signal, expected_signal)
    np.testing.assert_array_equal(result.histogram, result.macd - result.signal)


def test_rsi_of_a_flat_series_is_zero() -> None:
    """No gains and no losses: RSI is 0 from index `period` on (TA-Lib's convention), not 50 or NaN."""
    out = rsi(np.full(30, 5.0), 14)
    assert np.isnan(out[:14]).all()
    np.testing.assert_array_equal(out[14:], 0.0)


def test_bollinger_sigma_is_the_population_standard_deviation(btcusdt_1h: Candles) -> None:
    """Reference: numpy's two-pass np.std(ddof=0) over each 20-value window of BTCUSDT 1h closes."""
    close = btcusdt_1h.close
    bands = bollinger_bands(close, 20, 2.0)
    sigma = (bands.upper - bands.lower)[19:] / 4.0
    expected = np.lib.stride_tricks.sliding_window_view(close, 20).std(axis=1)
    # Recovering sigma from bands at ~1e4 loses a few digits when sigma is small; 1e-7 still catches a
    # sample (ddof=1) sigma, which is 2.6% larger.
    np.testing.assert_allclose(sigma, expected, rtol=1e-7, atol=1e-9)


# ---------------------------------------------------------------- StockCharts worked examples


def test_bollinger_bands_match_stockcharts_worked_example() -> None:
    """Reference: StockCharts ChartSchool, cs-bbands.csv (20-day, 2 sigma, population SD; 6 decimals).

    Same seeding as TA-Lib here, so every row is compared, including the 20-day SD column.
    """
    ref = read_reference_csv("cs-bbands.csv")
    bands = bollinger_bands(ref["Close"], 20, 2.0)
    tolerance = 1e-6  # printed with 6 decimals
    np.testing.assert_array_equal(np.isnan(bands.middle), np.isnan(ref["MiddleBand"]))
    for ours, column in zip(bands, ["HighBand", "MiddleBand", "LowBand"], strict=True):
        np.testing.assert_allclose(ours, ref[column], rtol=0, atol=tolerance, equal_nan=True, err_msg=column)
    sigma = (bands.upper - bands.middle) / 2.0
    np.testing.assert_allclose(sigma, ref["20-day Standard Deviation"], rtol=0, atol=tolerance, equal_nan=True)


def test_rsi_matches_stockcharts_worked_example() -> None:
    """Reference: cs-rsi.csv (14-period RSI, 6 decimals).

    Seeding differs: the worked example starts Wilder's averages at 0 on the first bar and smooths
    from there, where TA-Lib (and we) start with the plain average of the first 14 changes. The
    gap shrinks only by 13/14 a bar and is still above 2 RSI points at the last of its 33 rows, so
    the two never agree within the file. Prepending 14 copies of the first close makes our
    TA-Lib-style seed exactly that 0 start; from there both apply the same recursion, so every
    RSI row of the example (rows 14 onwards) is compared.
    """
    ref = read_reference_csv("cs-rsi.csv")
    close = ref["Close"]
    ours = rsi(np.r_[np.full(14, close[0]), close], 14)[14:]
    assert first_valid(ref["RSI"]) == 14
    np.testing.assert_allclose(ours[14:], ref["RSI"][14:], rtol=0, atol=1e-5)


def test_atr_matches_stockcharts_worked_example() -> None:
    """Reference: cs-atr.csv (14-period ATR, 10 significant digits).

    Seeding differs: the worked example's first ATR (row 13) averages 14 true ranges including the
    first bar's high - low; TA-Lib has no true range for the first bar and averages rows 1..14. The
    gap (0.025 at row 14) decays by 13/14 a bar and is still 0.008 at the end, so they never agree
    here. Prepending a candle whose close lies inside the first bar's range makes our first true
    range exactly that high - low; every ATR row of the example is then compared.
    """
    ref = read_reference_csv("cs-atr.csv")
    high, low, close = ref["High"], ref["Low"], ref["Close"]
    expected = np.where(ref["ATR"] == 0.0, NAN, ref["ATR"])  # the file writes 0 before the first ATR
    ours = atr(np.r_[high[0], high], np.r_[low[0], low], np.r_[low[0], close], 14)[1:]
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(expected))
    np.testing.assert_allclose(ours, expected, rtol=1e-8, equal_nan=True)


def test_macd_and_ema_match_stockcharts_worked_example() -> None:
    """Reference: cs-macd.csv (12/26 EMAs, MACD line, 9-period signal, histogram; 10 significant digits).

    Seeding differs twice. The example's EMAs start at the first close (no SMA seed): prepending 25
    copies of that close (11 for the 12-EMA alone) makes TA-Lib's SMA seeds equal to it, and then
    the 12- and 26-EMAs and the MACD line are compared on every row. Its signal column starts from a
    value carried over from before the excerpt (-0.129 on row 2), so it agrees with ours only once
    that start has decayed: 0.8 a row, from a 0.08 gap on row 8 to below 1e-8 by row 80. Signal and
    histogram are compared from row 88.
    """
    ref = read_reference_csv("cs-macd.csv")
    close = ref["Close"]
    np.testing.assert_allclose(ema(np.r_[np.full(11, close[0]), close], 12)[11:], ref["short_ema"], rtol=1e-8)
    np.testing.assert_allclose(ema(np.r_[np.full(25, close[0]), close], 26)[25:], ref["long_ema"], rtol=1e-8)

    line, signal, histogram = (series[25:] for series in macd(np.r_[np.full(25, close[0]), close], 12, 26, 9))
    start = first_valid(line)
    assert start == 8  # 9-period signal seed
    np.testing.assert_allclose(line[start:], ref["MACD_line"][start:], rtol=0, atol=1e-8)
    np.testing.assert_allclose(signal[88:], ref["MACD_signal"][88:], rtol=0, atol=1e-8)
    np.testing.assert_allclose(histogram[88:], ref["MACD_diff"][88:], rtol=0, atol=1e-8)


# ---------------------------------------------------------------- parameter validation


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: sma([1.0, 2.0], 0), "period must be between 1 and 100000, got 0"),
        (lambda: ema([1.0, 2.0], -3), "period must be between 1"),
        (lambda: rsi([1.0, 2.0], 1), "period must be between 2"),
        (lambda: atr([1.0], [1.0], [1.0], 0), "period must be between 1"),
        (lambda: bollinger_bands([1.0], 1), "period must be between 2"),
        (lambda: bollinger_bands([1.0], 20, -1.0), "k must be a finite number >= 0"),
        (lambda: bollinger_bands([1.0], 20, float("nan")), "k must be a finite number >= 0"),
        (lambda: macd([1.0], 26, 12, 9), "fast must be < slow, got fast=26, slow=12"),
        (lambda: macd([1.0], 12, 12, 9), "fast must be < slow"),
        (lambda: macd([1.0], 1, 26, 9), "fast must be between 2"),
        (lambda: macd([1.0], 12, 26, 0), "signal must be between 1"),
        (lambda: sma([1.0], 2.5), "period must be an integer >= 1, got 2.5"),
        (lambda: sma([1.0], True), "period must be an integer >= 1, got True"),
        (lambda: sma([1.0], 100_001), "period must be between 1 and 100000"),
        (lambda: sma([[1.0, 2.0]], 2), r"values must be one-dimensional, got shape \(1, 2\)"),
        (lambda: atr([1.0, 2.0], [1.0], [1.0, 2.0], 2), "same length, got 2, 1, 2"),
        (lambda: RSIStream(1), "period must be between 2"),
        (lambda: MACDStream(5, 3, 2), "fast must be < slow"),
        (lambda: BollingerStream(20, -2.0), "k must be a finite number"),
    ],
)
def test_invalid_parameters_raise_value_error(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_numpy_integer_periods_and_list_inputs_are_accepted() -> None:
    np.testing.assert_array_equal(sma([1.0, 2.0, 3.0], np.int64(2)), [NAN, 1.5, 2.5])
    assert sma([], 3).shape == (0,)


# ---------------------------------------------------------------- streaming == batch


def _batch_and_streams(candles: Candles) -> list[tuple[str, np.ndarray, np.ndarray]]:
    close = candles.close
    pairs = [
        ("sma 20", sma(close, 20), stream_series(SMAStream(20), close)),
        ("ema 12", ema(close, 12), stream_series(EMAStream(12), close)),
        ("rsi 14", rsi(close, 14), stream_series(RSIStream(14), close)),
        ("atr 14", atr(*candles, 14), stream_candles(ATRStream(14), *candles)),
    ]
    bands = zip(BollingerValue._fields, bollinger_bands(close, 20, 2.0), stream_bands(close, 20, 2.0).T, strict=True)
    pairs += [(f"bollinger {name}", batch, streamed) for name, batch, streamed in bands]
    lines = zip(MACDValue._fields, macd(close, 12, 26, 9), stream_macd(close, 12, 26, 9).T, strict=True)
    pairs += [(f"macd {name}", batch, streamed) for name, batch, streamed in lines]
    return pairs


def stream_bands(close, period: int, k: float) -> np.ndarray:
    stream = BollingerStream(period, k)
    return np.array([tuple(stream.update(v)) for v in close], dtype=np.float64).reshape(len(close), 3)


def stream_macd(close, fast: int, slow: int, signal: int) -> np.ndarray:
    stream = MACDStream(fast, slow, signal)
    return np.array([tuple(stream.update(v)) for v in close], dtype=np.float64).reshape(len(close), 3)


def test_streams_reproduce_batch_bit_for_bit_on_btcusdt(btcusdt_1h: Candles) -> None:
    """Feeding BTCUSDT 1h one candle at a time gives exactly the batch arrays (not just close)."""
    for name, batch, streamed in _batch_and_streams(btcusdt_1h):
        np.testing.assert_array_equal(streamed, batch, err_msg=name)


def test_streams_follow_the_nan_policy_like_batch() -> None:
    """Leading NaNs skipped, a later NaN poisons: stream and batch agree bit for bit on both."""
    close = np.r_[[NAN] * 3, _walk(40), NAN, _walk(20)]
    high, low = close * 1.01, close * 0.99
    candles = Candles(high, low, close)
    for name, batch, streamed in _batch_and_streams(candles):
        np.testing.assert_array_equal(streamed, batch, err_msg=name)


positive = st.floats(min_value=0.0, exclude_min=True, allow_nan=False, allow_infinity=False)
series = st.lists(positive, max_size=80).map(lambda values: np.array(values, dtype=np.float64))
# (low, close, high) rows: three positive floats, sorted.
candle_rows = st.lists(st.tuples(positive, positive, positive).map(sorted), max_size=80).map(
    lambda rows: np.array(rows, dtype=np.float64).reshape(-1, 3)
)
fast_settings = settings(max_examples=40, deadline=None)


@fast_settings
@given(values=series, period=st.integers(1, 30))
def test_sma_stream_equals_batch_on_any_positive_series(values: np.ndarray, period: int) -> None:
    np.testing.assert_array_equal(stream_series(SMAStream(period), values), sma(values, period))


@fast_settings
@given(values=series, period=st.integers(1, 30))
def test_ema_stream_equals_batch_on_any_positive_series(values: np.ndarray, period: int) -> None:
    np.testing.assert_array_equal(stream_series(EMAStream(period), values), ema(values, period))


@fast_settings
@given(values=series, period=st.integers(2, 30))
def test_rsi_stream_equals_batch_on_any_positive_series(values: np.ndarray, period: int) -> None:
    np.testing.assert_array_equal(stream_series(RSIStream(period), values), rsi(values, period))


@fast_settings
@given(rows=candle_rows, period=st.integers(1, 30))
def test_atr_stream_equals_batch_on_any_positive_candles(rows: np.ndarray, period: int) -> None:
    low, close, high = rows.T
    streamed = stream_candles(ATRStream(period), high, low, close)
    np.testing.assert_array_equal(streamed, atr(high, low, close, period))


@fast_settings
@given(values=series, period=st.integers(2, 30), k=st.floats(0.0, 4.0))
def test_bollinger_stream_equals_batch_on_any_positive_series(values: np.ndarray, period: int, k: float) -> None:
    np.testing.assert_array_equal(stream_bands(values, period, k), np.array(bollinger_bands(values, period, k)).T)


@fast_settings
@given(values=series, slow=st.integers(3, 30), data=st.data())
def test_macd_stream_equals_batch_on_any_positive_series(values: np.ndarray, slow: int, data) -> None:
    fast = data.draw(st.integers(2, slow - 1), label="fast")
    signal = data.draw(st.integers(1, 12), label="signal")
    np.testing.assert_array_equal(stream_macd(values, fast, slow, signal), np.array(macd(values, fast, slow, signal)).T)


def test_stream_api_warm_up_value_and_reset() -> None:
    stream = RSIStream(3)
    assert stream.lookback == 3 and not stream.ready and np.isnan(stream.value)
    for close in [Decimal("10"), 11, 10.5]:
        assert np.isnan(stream.update(close))
    assert stream.count == 3 and not stream.ready
    value = stream.update(12.0)
    assert stream.ready and stream.value == value == rsi([10.0, 11.0, 10.5, 12.0], 3)[-1]
    stream.reset()
    assert stream.count == 0 and not stream.ready and np.isnan(stream.value)

    bands = BollingerStream(2, 1.0)
    bands.update(1.0)
    assert bands.update(3.0) == BollingerValue(upper=3.0, middle=2.0, lower=1.0)
    lines = MACDStream(2, 3, 1)
    assert lines.lookback == 2
    assert isinstance(lines.update(1.0), MACDValue) and np.isnan(lines.value.macd)
    atr_stream = ATRStream(1)
    atr_stream.update(2.0, 1.0, 1.5)
    assert atr_stream.update(3.0, 2.5, 2.6) == 1.5  # true range: |3.0 - previous close 1.5|
