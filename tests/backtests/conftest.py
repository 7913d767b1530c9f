from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command

from apps.market.candles_io import CandleSeries
from apps.market.models import Market
from apps.market.services import candle_series_import
from apps.market.synthetic import random_walk_candles
from tests.factories import MarketFactory
from tests.market.helpers import HOUR, START_MS

BARS = 600
SYMBOL = "BTC/USDT:USDT"


def stored_series(count: int = BARS, *, seed: int = 42) -> CandleSeries:
    """A volatile hourly random walk: RSI(14) leaves 30..70 often enough for a few dozen trades."""
    return random_walk_candles(
        start_ms=START_MS,
        count=count,
        timeframe_ms=HOUR,
        start_price=30_000.0,
        seed=seed,
        price_decimals=1,
        volatility_per_bar=0.01,
    )


@pytest.fixture
def market(db) -> Market:
    market = MarketFactory(symbol=SYMBOL)
    candle_series_import(market=market, timeframe="1h", series=stored_series(), source="tests", synthetic=True)
    return market


def run_backtest_command(*args: str, out: Path | None = None) -> str:
    """`manage.py backtest` with a command line as typed; returns what it printed."""
    stdout = io.StringIO()
    argv = list(args) + (["--out", str(out)] if out is not None else [])
    call_command("backtest", *argv, stdout=stdout, stderr=io.StringIO())
    return stdout.getvalue()


def as_columns(series: CandleSeries) -> tuple[np.ndarray, ...]:
    return (series.open_time_ms, *(series.ohlcv[:, i] for i in range(5)))


@pytest.fixture(autouse=True)
def out_root(tmp_path, monkeypatch) -> Path:
    """Runs without an --out directory (the worker's) write under tmp, never the repository's var/."""
    from apps.backtests import services

    root = tmp_path / "var" / "backtests"
    monkeypatch.setattr(services, "DEFAULT_OUT_ROOT", root)
    return root
