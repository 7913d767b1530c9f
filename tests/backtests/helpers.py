"""Tiny hand-made candle series and signal codes for the backtest tests."""

from __future__ import annotations

import numpy as np

from apps.backtests.engine import BacktestParams
from apps.market.arrays import CandleArrays
from apps.market.synthetic import random_walk_candles
from tests.market.helpers import HOUR, START_MS

# No costs unless a test asks for them, so each hand computation shows only what it tests.
FREE = {"fee_bps": 0.0, "slippage_bps": 0.0}


def bars(*ohlc: tuple[float, float, float, float], step: int = HOUR) -> CandleArrays:
    """Candles from (open, high, low, close) tuples, one `step` apart from START."""
    table = np.array(ohlc, dtype=np.float64)
    n = len(table)
    return CandleArrays(
        open_time=START_MS + step * np.arange(n, dtype=np.int64),
        open=table[:, 0].copy(),
        high=table[:, 1].copy(),
        low=table[:, 2].copy(),
        close=table[:, 3].copy(),
        volume=np.ones(n),
    )


def flat(price: float) -> tuple[float, float, float, float]:
    return (price, price, price, price)


def codes(n: int, at: dict[int, int]) -> np.ndarray:
    """n signal codes, NONE except at the given bars."""
    result = np.zeros(n, dtype=np.int8)
    for bar, code in at.items():
        result[bar] = code
    return result


def params(**overrides: float | str | None) -> BacktestParams:
    return BacktestParams(**{"cash": 10_000.0, **FREE, **overrides})


def synthetic(count: int, *, seed: int = 7, step: int = HOUR, volatility: float = 0.01) -> CandleArrays:
    series = random_walk_candles(
        start_ms=START_MS,
        count=count,
        timeframe_ms=step,
        start_price=100.0,
        seed=seed,
        price_decimals=4,
        volatility_per_bar=volatility,
    )
    return CandleArrays(series.open_time_ms, *(np.ascontiguousarray(series.ohlcv[:, i]) for i in range(5)))
