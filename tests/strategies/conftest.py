from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

from tests.conftest import shared_data_path
from tests.strategies.factories import KNOWN_SYMBOLS, stored_markets


class Candles(NamedTuple):
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray


@pytest.fixture
def known_markets(db) -> None:
    """The markets the specs of these tests name, stored."""
    stored_markets(KNOWN_SYMBOLS)


@pytest.fixture(scope="session")
def talib():
    """TA-Lib, the parity reference; tests that need it skip when it cannot be imported.

    ImportError, not only ModuleNotFoundError: a wheel whose C library is missing fails that way.
    """
    return pytest.importorskip(
        "talib", reason="TA-Lib (test-only parity reference) cannot be imported", exc_type=ImportError
    )


@pytest.fixture(scope="session")
def btcusdt_1h() -> Candles:
    """Binance BTCUSDT 1h candles, 2017-08 to 2022-10 (45,345 rows, freqtrade JSON)."""
    path = shared_data_path("ohlcv", "binance_BTCUSDT_1h_2017-2022.freqtrade.json")
    rows = np.array(json.loads(Path(path).read_text()), dtype=np.float64)
    # [open_time_ms, open, high, low, close, volume]
    return Candles(high=rows[:, 2].copy(), low=rows[:, 3].copy(), close=rows[:, 4].copy())


def read_reference_csv(name: str) -> dict[str, np.ndarray]:
    """A StockCharts worked example from indicator_reference/, numeric columns as float arrays (blank -> NaN)."""
    path = shared_data_path("indicator_reference", name)
    with Path(path).open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    columns: dict[str, np.ndarray] = {}
    for key in rows[0]:
        if key == "Date":
            continue
        columns[key] = np.array([float(row[key]) if row[key] else np.nan for row in rows])
    return columns
