"""Candles and the price feed that drives the emulated market.

The feed keeps one candle series per symbol and a shared clock (the open time of the current candle).
``advance()`` moves the clock to the next candle time found in any series, so gaps in real data (exchange
outages) stay gaps. Market data endpoints only ever see candles up to the clock: no look-ahead.
"""

from __future__ import annotations

import bisect
import functools
import json
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

_INTERVAL_RE = re.compile(r"^(\d+)([smhdwM])$")
_UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000, "M": 2_592_000_000}


@dataclass(frozen=True)
class Candle:
    open_time: int  # ms, UTC; candles are keyed by their open time
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal  # base units


class FeedExhausted(Exception):
    """advance() was asked to go past the last candle."""


def interval_ms(interval: str) -> int:
    match = _INTERVAL_RE.match(interval)
    if not match:
        raise ValueError(f"unsupported interval {interval!r}")
    return int(match.group(1)) * _UNIT_MS[match.group(2)]


def _dec(value: float | int | str) -> Decimal:
    # str() of a float is its shortest repr, so 24899.18 stays 24899.18 and not its binary expansion.
    return Decimal(str(value))


def candles_from_rows(rows: Iterable[Sequence[float | int | str]]) -> list[Candle]:
    """Rows of [open_time_ms, open, high, low, close, volume] (freqtrade's JSON layout, ccxt's OHLCV)."""
    return [Candle(int(r[0]), _dec(r[1]), _dec(r[2]), _dec(r[3]), _dec(r[4]), _dec(r[5])) for r in rows]


def load_freqtrade_json(path: str | Path) -> list[Candle]:
    return candles_from_rows(json.loads(Path(path).read_text()))


def symbol_from_filename(path: str | Path) -> str | None:
    """``binance_BTCUSDT_1m_....json`` -> ``BTC/USDT:USDT`` (the shared data naming)."""
    match = re.search(r"_([A-Z0-9]+)(USDT)_", Path(path).name)
    return f"{match.group(1)}/USDT:USDT" if match else None


@functools.lru_cache(maxsize=32)
def synthetic_candles(
    *,
    start_price: Decimal,
    count: int,
    start_time: int = 1_679_004_900_000,
    step_ms: int = 60_000,
    seed: int = 7,
    tick: Decimal = Decimal("0.01"),
    volatility: float = 0.0008,
) -> tuple[Candle, ...]:
    """A deterministic random walk for tests and demos that do not need real data (cached: it is immutable)."""
    rng = random.Random(seed)
    price = float(start_price)
    out: list[Candle] = []
    for i in range(count):
        open_ = price
        close = open_ * (1 + rng.gauss(0, volatility))
        high = max(open_, close) * (1 + abs(rng.gauss(0, volatility / 2)))
        low = min(open_, close) * (1 - abs(rng.gauss(0, volatility / 2)))
        out.append(
            Candle(
                start_time + i * step_ms,
                _round(open_, tick),
                _round(high, tick),
                _round(low, tick),
                _round(close, tick),
                _round(rng.uniform(50, 300), Decimal("0.001")),
            )
        )
        price = close
    return tuple(out)


def _round(value: float, tick: Decimal) -> Decimal:
    return (Decimal(str(value)) / tick).quantize(Decimal(1), rounding=ROUND_HALF_UP) * tick


def aggregate(candles: Sequence[Candle], period_ms: int) -> list[Candle]:
    """Roll base candles up into ``period_ms`` buckets aligned to the epoch (as exchanges align them)."""
    out: list[Candle] = []
    for candle in candles:
        bucket = candle.open_time - candle.open_time % period_ms
        if out and out[-1].open_time == bucket:
            last = out[-1]
            out[-1] = Candle(
                bucket,
                last.open,
                max(last.high, candle.high),
                min(last.low, candle.low),
                candle.close,
                last.volume + candle.volume,
            )
        else:
            out.append(replace(candle, open_time=bucket))
    return out


class PriceFeed:
    def __init__(self, series: dict[str, list[Candle]], *, start_time: int | None = None) -> None:
        if not series:
            raise ValueError("a price feed needs at least one candle series")
        self._series = {symbol: list(candles) for symbol, candles in series.items()}
        self._times = {symbol: [c.open_time for c in candles] for symbol, candles in self._series.items()}
        self.base_interval_ms = self._guess_interval()
        first = max(times[0] for times in self._times.values())
        self._start = start_time if start_time is not None else first
        self.clock = self._start

    def _guess_interval(self) -> int:
        times = next(iter(self._times.values()))
        steps = [b - a for a, b in zip(times, times[1:], strict=False)]
        return min(steps) if steps else 60_000

    @property
    def symbols(self) -> list[str]:
        return list(self._series)

    def reset(self) -> None:
        self.clock = self._start

    def _index(self, symbol: str) -> int:
        idx = bisect.bisect_right(self._times[symbol], self.clock) - 1
        if idx < 0:
            raise FeedExhausted(f"{symbol} has no candle at or before {self.clock}")
        return idx

    def current(self, symbol: str) -> Candle:
        return self._series[symbol][self._index(symbol)]

    def price(self, symbol: str) -> Decimal:
        return self.current(symbol).close

    def history(self, symbol: str, period_ms: int | None = None) -> list[Candle]:
        """All candles up to and including the current one, optionally rolled up to a longer period."""
        candles = self._series[symbol][: self._index(symbol) + 1]
        if period_ms is None or period_ms == self.base_interval_ms:
            return candles
        if period_ms < self.base_interval_ms or period_ms % self.base_interval_ms:
            raise ValueError(f"interval {period_ms} ms cannot be built from {self.base_interval_ms} ms candles")
        return aggregate(candles, period_ms)

    def advance(self) -> dict[str, Candle]:
        """Move the clock to the next candle time; return the candles that open at that time."""
        upcoming = [
            times[i] for times in self._times.values() if (i := bisect.bisect_right(times, self.clock)) < len(times)
        ]
        if not upcoming:
            raise FeedExhausted("no more candles")
        self.clock = min(upcoming)
        return {
            symbol: self._series[symbol][i]
            for symbol, times in self._times.items()
            if (i := bisect.bisect_left(times, self.clock)) < len(times) and times[i] == self.clock
        }

    def set_price(self, symbol: str, price: Decimal) -> Candle:
        """Replace the current candle's close (widening its range) so ticker and OHLCV agree with the price."""
        idx = self._index(symbol)
        candle = self._series[symbol][idx]
        updated = replace(candle, close=price, high=max(candle.high, price), low=min(candle.low, price))
        self._series[symbol][idx] = updated
        return updated
