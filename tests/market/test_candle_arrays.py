"""candle_arrays: what the backtester and the signal worker read, as numpy columns."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from apps.market.candles_io import CandleSeries
from apps.market.selectors import candle_arrays
from apps.market.services import candle_series_import
from tests.factories import MarketFactory
from tests.market.helpers import HOUR, START, START_MS, freqtrade_rows

pytestmark = pytest.mark.django_db


def stored_market(rows: list[list]):
    market = MarketFactory()
    data = np.array(rows, dtype=np.float64)
    series = CandleSeries(open_time_ms=data[:, 0].astype(np.int64), ohlcv=data[:, 1:], format="freqtrade")
    candle_series_import(market=market, timeframe="1h", series=series, source="test")
    return market


def test_reads_back_exact_values_in_order() -> None:
    rows = freqtrade_rows(48)
    arrays = candle_arrays(market=stored_market(rows), timeframe="1h")
    assert arrays.open_time.dtype == np.int64
    assert arrays.open_time.tolist() == [row[0] for row in rows]
    assert arrays.close.tolist() == [row[4] for row in rows]
    assert arrays.volume.tolist() == [row[5] for row in rows]


def test_range_is_start_inclusive_end_exclusive() -> None:
    market = stored_market(freqtrade_rows(48))
    arrays = candle_arrays(
        market=market, timeframe="1h", start=START + timedelta(hours=10), end=START + timedelta(hours=20)
    )
    assert arrays.open_time[0] == START_MS + 10 * HOUR
    assert len(arrays) == 10


def test_other_timeframes_and_empty_ranges() -> None:
    market = stored_market(freqtrade_rows(5))
    assert len(candle_arrays(market=market, timeframe="1m")) == 0
    assert len(candle_arrays(market=market, timeframe="1h", start=START + timedelta(days=1))) == 0
