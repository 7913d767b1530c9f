"""Candles as numpy columns (pure; no Django): what indicators, triggers and backtests read."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CandleArrays:
    """Open time in epoch milliseconds (UTC, int64) and float64 prices and volume, oldest first."""

    open_time: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def __len__(self) -> int:
        return len(self.open_time)

    def column(self, name: str) -> np.ndarray:
        return getattr(self, name)

    def slice(self, start: int, stop: int) -> CandleArrays:
        return CandleArrays(*(getattr(self, name)[start:stop] for name in COLUMNS))

    @classmethod
    def from_rows(cls, rows: np.ndarray) -> CandleArrays:
        """From an (n, 6) array of [open_time_ms, open, high, low, close, volume] rows."""
        rows = np.asarray(rows, dtype=np.float64).reshape(-1, 6)
        return cls(rows[:, 0].astype(np.int64), *(np.ascontiguousarray(rows[:, i]) for i in range(1, 6)))


COLUMNS = ("open_time", "open", "high", "low", "close", "volume")
