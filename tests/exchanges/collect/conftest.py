"""An emulator whose candles run up to this very minute, so that its candles are closed on the wall clock
(as ccxt and the feed's lag judge them), and collection aimed at it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from decimal import Decimal

import pytest

from apps.exchanges.emulator import ExchangeEmulator, testing
from apps.exchanges.emulator.candles import Candle, synthetic_candles
from apps.market.arrays import CandleArrays
from apps.market.livecache import market_cache
from apps.market.models import Market
from apps.market.services import market_follow
from tests.exchanges.adapters.conftest import FAST_RETRY
from tests.factories import ExchangeAccountFactory, MarketFactory

emulator_factory = testing.emulator_factory
MINUTE = 60_000
SYMBOL = "BTC/USDT:USDT"
HISTORY = 1200  # candles before the emulator's clock


def this_minute() -> int:
    now = int(time.time() * 1000)
    return now - now % MINUTE


def live_candles(*, behind: int, future: int = 60) -> list[Candle]:
    """1m candles whose forming one (the emulator's clock) opened `behind` minutes before this minute."""
    start = this_minute() - (HISTORY + behind) * MINUTE
    return list(synthetic_candles(start_price=Decimal(30_000), count=HISTORY + 1 + future, start_time=start))


@pytest.fixture
def live_emulator(emulator_factory) -> Callable[..., ExchangeEmulator]:
    """live_emulator(behind=10, candles=None, exchange="binanceusdm"): an emulator HISTORY candles into its data."""

    def start(
        *, behind: int = 10, candles: list[Candle] | None = None, exchange: str = "binanceusdm"
    ) -> ExchangeEmulator:
        series = candles or live_candles(behind=behind)
        return emulator_factory(exchange, candles={SYMBOL: series}, history=HISTORY)

    return start


def aimed_at(emu: ExchangeEmulator) -> AbstractContextManager[None]:
    """Every ccxt client built inside, the pooled public ones included, talks to the emulator."""
    return testing.aimed_at(emu, enable_rate_limit=False, timeout_ms=3000, retry=FAST_RETRY)


@pytest.fixture(autouse=True)
def _empty_market_cache() -> Iterator[None]:
    market_cache().clear()
    yield
    market_cache().clear()


@pytest.fixture
def followed_market(db) -> Market:
    """BTC/USDT:USDT on binanceusdm, followed on 1m by an operator, with a paper account on live prices."""
    market = MarketFactory()
    ExchangeAccountFactory(exchange="binanceusdm", mode="paper", price_source="live")
    market_follow(market=market, timeframe="1m")
    return market


def rows_of(candles: list[Candle]) -> CandleArrays:
    """Emulator candles as the arrays a stream pushes."""
    return CandleArrays.from_rows([[c.open_time, c.open, c.high, c.low, c.close, c.volume] for c in candles])


def kline_requests(emu: ExchangeEmulator) -> int:
    return sum(record.path == "/fapi/v1/klines" for record in emu.requests)
