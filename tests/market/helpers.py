"""Small candle files and series for the market tests, written where each test asks."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from apps.market.candles_io import CandleSeries, datetime_to_ms

MINUTE = 60_000
HOUR = 3_600_000
START = datetime(2024, 1, 1, tzinfo=UTC)
START_MS = datetime_to_ms(START)


def freqtrade_rows(count: int, *, step: int = HOUR, start: int = START_MS, skip: tuple[int, ...] = ()) -> list[list]:
    """[open_time_ms, open, high, low, close, volume] rows; indexes in `skip` are left out (gaps)."""
    rows = []
    for index in range(count):
        if index in skip:
            continue
        price = 100.0 + index
        rows.append([start + index * step, price, price + 2.5, price - 1.25, price + 1.0, 10.5 + index])
    return rows


def write_json(path: Path, rows: list, *, indent: int | None = None) -> Path:
    path.write_text(json.dumps(rows, indent=indent))
    return path


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def binance_line(open_time: int, o: str = "100.0", h: str = "102.5", low: str = "98.75", c: str = "101.0") -> str:
    close_time = open_time + HOUR - 1
    return f"{open_time},{o},{h},{low},{c},12.5,{close_time},1260.0,42,6.0,605.0,0"


def series_of(rows: list[list], *, fmt: str = "freqtrade") -> CandleSeries:
    table = np.array(rows, dtype=np.float64)
    return CandleSeries(open_time_ms=table[:, 0].astype(np.int64), ohlcv=table[:, 1:], format=fmt)
