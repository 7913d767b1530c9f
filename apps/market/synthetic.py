"""Seeded synthetic candles (a geometric random walk), for demos and benchmarks. Pure: no Django.

Never mistake these for market data: whoever stores them marks them synthetic.
"""

from __future__ import annotations

import numpy as np

from apps.market.candles_io import CandleSeries

SYNTHETIC_FORMAT = "synthetic"


def random_walk_candles(
    *,
    start_ms: int,
    count: int,
    timeframe_ms: int,
    start_price: float,
    seed: int,
    price_decimals: int = 2,
    volatility_per_bar: float = 0.001,
) -> CandleSeries:
    """`count` consecutive bars from `start_ms`; prices rounded to `price_decimals`.

    Rounding to decimals rather than multiplying by a tick keeps values such as 28000.1 exact in
    their shortest repr, which is what reaches the database.
    """
    rng = np.random.default_rng(seed)
    closes = start_price * np.exp(np.cumsum(rng.normal(0.0, volatility_per_bar, count)))
    opens = np.concatenate(([start_price], closes[:-1]))
    wick_up = np.abs(rng.normal(0.0, volatility_per_bar / 2, count))
    wick_down = np.abs(rng.normal(0.0, volatility_per_bar / 2, count))
    scale = 10.0**price_decimals
    opens = np.round(opens, price_decimals)
    closes = np.round(closes, price_decimals)
    # Wicks are rounded outwards so that low <= open, close <= high survives the rounding.
    highs = np.ceil(np.maximum(opens, closes) * (1 + wick_up) * scale) / scale
    lows = np.floor(np.minimum(opens, closes) * (1 - wick_down) * scale) / scale
    lows = np.maximum(lows, 1 / scale)
    volumes = np.round(rng.lognormal(mean=3.0, sigma=1.0, size=count), 3)
    open_time_ms = start_ms + timeframe_ms * np.arange(count, dtype=np.int64)
    ohlcv = np.column_stack((opens, highs, lows, closes, volumes))
    return CandleSeries(open_time_ms=open_time_ms, ohlcv=ohlcv, format=SYNTHETIC_FORMAT)
