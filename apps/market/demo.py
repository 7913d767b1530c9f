"""Demo markets and candles for a fresh install (called by `manage.py load_demo`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TextIO

from apps.market import selectors, services
from apps.market.candles_io import datetime_to_ms, read_candles
from apps.market.models import CandleImport, ExchangeId, Market, MarketFeed
from apps.market.replay import market_data_collect
from apps.market.synthetic import random_walk_candles
from apps.market.timeframes import timeframe_ms

REAL_NOTES = "Demo market. Candles: real Binance spot data for the same pair, from ../shared/data."
SYNTHETIC_NOTES = "Demo market. Candles: a seeded synthetic random walk, NOT market data."
# (timeframe, file under <shared data>/ohlcv/, synthetic bars when that file is absent)
DEMO_SERIES = (
    ("1m", "binance_{pair}_1m_2023-03-16_2023-05-01.freqtrade.json", 30 * 24 * 60),
    ("1h", "binance_{pair}_1h_2017-2022.freqtrade.json", 365 * 24),
)
SYNTHETIC_END = datetime(2023, 5, 1, tzinfo=UTC)


@dataclass(frozen=True)
class DemoMarket:
    symbol: str
    base: str
    pair: str  # as in the shared data file names
    # Binance USDT-M filters: PRICE_FILTER tickSize, LOT_SIZE stepSize and minQty, MIN_NOTIONAL.
    tick: Decimal
    step: Decimal
    min_amount: Decimal
    min_notional: Decimal
    max_leverage: int  # Binance's top bracket for the symbol
    synthetic_start_price: float
    seed: int


DEMO_MARKETS = (
    DemoMarket(
        symbol="BTC/USDT:USDT",
        base="BTC",
        pair="BTCUSDT",
        tick=Decimal("0.1"),
        step=Decimal("0.001"),
        min_amount=Decimal("0.001"),
        min_notional=Decimal(100),
        max_leverage=125,
        synthetic_start_price=28_000.0,
        seed=1,
    ),
    DemoMarket(
        symbol="ETH/USDT:USDT",
        base="ETH",
        pair="ETHUSDT",
        tick=Decimal("0.01"),
        step=Decimal("0.001"),
        min_amount=Decimal("0.001"),
        min_notional=Decimal(20),
        max_leverage=100,
        synthetic_start_price=1_800.0,
        seed=2,
    ),
)


def demo_market_data_load(*, shared_data_dir: Path, stdout: TextIO) -> list[str]:
    """Ensure the demo markets exist and hold candles; return (and write to stdout) one line per step.

    Each market gets 1m and 1h candles from the real files in `shared_data_dir/ohlcv` when they
    exist, imported like `manage.py import_candles` does. Otherwise it gets a seeded synthetic
    random walk, recorded as CandleImport.synthetic and stated in Market.notes. A second run
    skips what is loaded; a synthetic series is replaced once the real file appears.
    """
    lines = []
    for spec, market in zip(DEMO_MARKETS, demo_markets_ensure(), strict=True):
        for timeframe, file_pattern, synthetic_bars in DEMO_SERIES:
            path = shared_data_dir / "ohlcv" / file_pattern.format(pair=spec.pair)
            if path.is_file():
                line = _load_file(market, timeframe, path)
            else:
                line = _load_synthetic(market, timeframe, spec, synthetic_bars)
            lines.append(line)
            stdout.write(line + "\n")
        synthetic = CandleImport.objects.filter(market=market, synthetic=True).exists()
        notes = SYNTHETIC_NOTES if synthetic else REAL_NOTES
        if market.notes != notes:
            services.market_update(market=market, changes={"notes": notes})
        line = _start_replay(market)
        if line:
            lines.append(line)
            stdout.write(line + "\n")
    return lines


def demo_markets_ensure() -> list[Market]:
    """The demo markets, created when missing (in DEMO_MARKETS' order)."""
    return [_demo_market(spec) for spec in DEMO_MARKETS]


def _start_replay(market: Market) -> str:
    """Start the market's replay feeds now rather than at the worker's first tick: the paper exchange
    has no price until they start, and a trade ticket opened right after `make run` needs one."""
    # Its replay feeds only: an exchange feed (live collection of the same market) leaves the replay unstarted.
    if MarketFeed.objects.filter(market=market, source=MarketFeed.Source.REPLAY).exists():
        return ""
    ticks = market_data_collect(market_id=market.pk)
    released = ", ".join(f"{tick.timeframe} at {tick.horizon:%Y-%m-%d %H:%M}" for tick in ticks if tick.horizon)
    return f"{market.symbol}: replay started ({released})."


def _demo_market(spec: DemoMarket) -> Market:
    market = selectors.market_get(exchange=ExchangeId.BINANCEUSDM, symbol=spec.symbol)
    if market is not None:
        return market
    return services.market_create(
        exchange=ExchangeId.BINANCEUSDM,
        symbol=spec.symbol,
        base=spec.base,
        quote="USDT",
        type=Market.Type.SWAP,
        price_precision=spec.tick,
        amount_precision=spec.step,
        min_amount=spec.min_amount,
        min_notional=spec.min_notional,
        max_leverage=spec.max_leverage,
    )


def _load_file(market: Market, timeframe: str, path: Path) -> str:
    imports = CandleImport.objects.filter(market=market, timeframe=timeframe)
    label = f"{market.symbol} {timeframe}"
    if imports.filter(synthetic=False, source__endswith=path.name).exists():
        return f"{label}: {path.name} already loaded."
    replaced = ""
    if imports.filter(synthetic=True).exists():
        services.candle_series_delete(market=market, timeframe=timeframe)
        replaced = " (replacing the synthetic series)"
    series = read_candles(path, timeframe_ms=timeframe_ms(timeframe))
    result = services.candle_series_import(market=market, timeframe=timeframe, series=series, source=str(path))
    return f"{label}: loaded {result.record.rows:,} candles from {path.name}{replaced}."


def _load_synthetic(market: Market, timeframe: str, spec: DemoMarket, bars: int) -> str:
    label = f"{market.symbol} {timeframe}"
    if CandleImport.objects.filter(market=market, timeframe=timeframe).exists():
        return f"{label}: already loaded."
    step_ms = timeframe_ms(timeframe)
    series = random_walk_candles(
        start_ms=datetime_to_ms(SYNTHETIC_END) - bars * step_ms,
        count=bars,
        timeframe_ms=step_ms,
        start_price=spec.synthetic_start_price,
        seed=spec.seed,
        price_decimals=-spec.tick.as_tuple().exponent,
    )
    source = f"synthetic random walk, seed {spec.seed}"
    services.candle_series_import(market=market, timeframe=timeframe, series=series, source=source, synthetic=True)
    return f"{label}: no real data file, loaded {bars:,} SYNTHETIC candles ({source})."
