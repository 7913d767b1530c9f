from __future__ import annotations

import io
import time
from decimal import Decimal
from pathlib import Path

import pytest

from apps.market.demo import REAL_NOTES, SYNTHETIC_NOTES, demo_market_data_load
from apps.market.models import Candle, CandleImport, ExchangeId, Market, MarketFeed
from tests.market.helpers import MINUTE, freqtrade_rows, write_json

pytestmark = pytest.mark.django_db

SYMBOLS = ["BTC/USDT:USDT", "ETH/USDT:USDT"]


def write_real_files(shared: Path) -> None:
    ohlcv = shared / "ohlcv"
    ohlcv.mkdir(parents=True)
    for pair in ("BTCUSDT", "ETHUSDT"):
        write_json(ohlcv / f"binance_{pair}_1m_2023-03-16_2023-05-01.freqtrade.json", freqtrade_rows(5, step=MINUTE))
        write_json(ohlcv / f"binance_{pair}_1h_2017-2022.freqtrade.json", freqtrade_rows(4))


def test_without_shared_data_the_demo_loads_labelled_synthetic_candles(tmp_path) -> None:
    out = io.StringIO()

    lines = demo_market_data_load(shared_data_dir=tmp_path / "absent", stdout=out)

    markets = Market.objects.filter(exchange=ExchangeId.BINANCEUSDM).order_by("symbol")
    assert [m.symbol for m in markets] == SYMBOLS
    btc = markets[0]
    assert (btc.price_precision, btc.amount_precision, btc.min_amount, btc.min_notional) == (
        Decimal("0.1"),
        Decimal("0.001"),
        Decimal("0.001"),
        Decimal("100"),
    )
    assert all(m.notes == SYNTHETIC_NOTES for m in markets)
    imports = CandleImport.objects.all()
    assert imports.count() == 4 and all(record.synthetic for record in imports)
    assert Candle.objects.filter(market=btc, timeframe="1m").count() == 30 * 24 * 60
    assert Candle.objects.filter(market=btc, timeframe="1h").count() == 365 * 24
    data_lines = [line for line in lines if "replay started" not in line]
    assert len(data_lines) == 4 and all("SYNTHETIC" in line for line in data_lines)
    # The replay starts at once, so the paper exchange has a price before the worker's first tick.
    assert sorted(line.split(":")[0] for line in lines if "replay started" in line) == ["BTC/USDT", "ETH/USDT"]
    assert MarketFeed.objects.filter(market=btc, horizon__isnull=False).count() == 2
    assert out.getvalue() == "".join(line + "\n" for line in lines)


def test_a_second_run_skips_what_is_loaded(tmp_path) -> None:
    demo_market_data_load(shared_data_dir=tmp_path, stdout=io.StringIO())
    candles = Candle.objects.count()

    started = time.perf_counter()
    lines = demo_market_data_load(shared_data_dir=tmp_path, stdout=io.StringIO())

    assert time.perf_counter() - started < 1
    assert all(line.endswith("already loaded.") for line in lines)
    assert CandleImport.objects.count() == 4 and Candle.objects.count() == candles


def test_real_files_are_imported_and_replace_a_synthetic_series(tmp_path) -> None:
    demo_market_data_load(shared_data_dir=tmp_path, stdout=io.StringIO())
    write_real_files(tmp_path)

    lines = demo_market_data_load(shared_data_dir=tmp_path, stdout=io.StringIO())
    again = demo_market_data_load(shared_data_dir=tmp_path, stdout=io.StringIO())

    btc = Market.objects.get(symbol="BTC/USDT:USDT")
    assert Candle.objects.filter(market=btc, timeframe="1m").count() == 5
    assert Candle.objects.filter(market=btc, timeframe="1h").count() == 4
    assert not CandleImport.objects.filter(synthetic=True).exists()
    assert btc.notes == REAL_NOTES
    assert "loaded 5 candles from binance_BTCUSDT_1m_2023-03-16_2023-05-01.freqtrade.json" in lines[0]
    assert "(replacing the synthetic series)" in lines[0]
    assert all("already loaded" in line for line in again)
    assert Market.history.filter(symbol="BTC/USDT:USDT").count() == 3  # created, synthetic note, real note


def test_an_exchange_feed_of_a_demo_market_does_not_keep_its_replay_from_starting(tmp_path) -> None:
    """Live collection of a demo market (a paper account on live prices) and the demo's replay run side by side."""
    write_real_files(tmp_path)
    demo_market_data_load(shared_data_dir=tmp_path, stdout=io.StringIO())
    MarketFeed.objects.filter(source=MarketFeed.Source.REPLAY).delete()
    for market in Market.objects.all():
        MarketFeed.objects.create(market=market, timeframe="1m", source=MarketFeed.Source.EXCHANGE)

    lines = demo_market_data_load(shared_data_dir=tmp_path, stdout=io.StringIO())

    assert sorted(line.split(":")[0] for line in lines if "replay started" in line) == ["BTC/USDT", "ETH/USDT"]
    assert MarketFeed.objects.filter(source=MarketFeed.Source.REPLAY, horizon__isnull=False).count() == 4
