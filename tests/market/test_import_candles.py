from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from apps.market import services
from apps.market.models import Candle, CandleImport, ExchangeId, Market
from tests.conftest import shared_data_path
from tests.factories import MarketFactory
from tests.market.helpers import HOUR, START, START_MS, binance_line, freqtrade_rows, series_of, write_json, write_lines

pytestmark = pytest.mark.django_db


def run_import(
    path, *, exchange: str = ExchangeId.BINANCEUSDM, symbol: str = "BTC/USDT:USDT", timeframe: str = "1h", **options
) -> str:
    out = io.StringIO()
    call_command(
        "import_candles",
        str(path),
        exchange=exchange,
        symbol=symbol,
        timeframe=timeframe,
        stdout=out,
        stderr=io.StringIO(),
        **options,
    )
    return out.getvalue()


def stored(market: Market) -> list[tuple]:
    return list(
        Candle.objects.filter(market=market)
        .order_by("open_time")
        .values_list("open_time", "open", "high", "low", "close", "volume")
    )


def test_import_stores_exact_decimals_and_records_the_import(tmp_path) -> None:
    market = MarketFactory()
    rows = freqtrade_rows(3)
    rows[0][1:6] = [4261.48, 4313.62, 4261.32, 4308.83, 47.181009]
    path = write_json(tmp_path / "BTC_USDT-1h.json", rows)

    output = run_import(path)

    first = stored(market)[0]
    assert first == (
        START,
        Decimal("4261.48"),
        Decimal("4313.62"),
        Decimal("4261.32"),
        Decimal("4308.83"),
        Decimal("47.181009"),
    )
    assert len(stored(market)) == 3
    record = CandleImport.objects.get()
    assert (record.market, record.timeframe, record.format, record.rows, record.gap_count) == (
        market,
        "1h",
        "freqtrade",
        3,
        0,
    )
    assert record.source == str(path)
    assert (record.first_open_time, record.last_open_time) == (START, datetime(2024, 1, 1, 2, tzinfo=UTC))
    assert record.created_by is None and record.synthetic is False
    assert "3 1h candles (freqtrade) for BTC/USDT:USDT on binanceusdm" in output
    assert "3 new, 0 changed, 0 unchanged" in output
    assert "No gaps." in output


def test_reimport_is_idempotent(tmp_path) -> None:
    market = MarketFactory()
    path = write_json(tmp_path / "BTC_USDT-1h.json", freqtrade_rows(5))
    run_import(path)
    before = stored(market)

    output = run_import(path)

    assert stored(market) == before
    assert "0 new, 0 changed, 5 unchanged" in output
    assert CandleImport.objects.count() == 2


def test_reimport_updates_changed_values_and_adds_new_bars(tmp_path) -> None:
    market = MarketFactory()
    run_import(write_json(tmp_path / "v1.json", freqtrade_rows(3)))
    rows = freqtrade_rows(4)
    rows[1][4] = 100.5  # a corrected close
    rows[1][5] = 0.123456789012  # 12 decimal places, the column's scale

    output = run_import(write_json(tmp_path / "v2.json", rows))

    second = Candle.objects.get(market=market, open_time=datetime(2024, 1, 1, 1, tzinfo=UTC))
    assert (second.close, second.volume) == (Decimal("100.5"), Decimal("0.123456789012"))
    assert Candle.objects.filter(market=market).count() == 4
    assert "1 new, 1 changed, 2 unchanged" in output


def test_reimport_of_values_finer_than_the_column_changes_nothing(tmp_path) -> None:
    # PostgreSQL rounds to the column's 12 decimal places; the rounded value must compare equal.
    MarketFactory()
    rows = freqtrade_rows(2)
    rows[0][5] = 0.1234567890123456
    path = write_json(tmp_path / "fine.json", rows)
    run_import(path)

    assert "0 new, 0 changed, 2 unchanged" in run_import(path)


def test_gaps_are_reported(tmp_path) -> None:
    MarketFactory()
    path = write_json(tmp_path / "gappy.json", freqtrade_rows(10, skip=(2, 3, 7)))

    output = run_import(path)

    assert "2 gaps (3 missing bars), as the bars either side of each hole:" in output
    assert "  2024-01-01 01:00 -> 2024-01-01 04:00  2 missing" in output
    assert "  2024-01-01 06:00 -> 2024-01-01 08:00  1 missing" in output
    assert CandleImport.objects.get().gap_count == 2


def test_only_the_first_twenty_gaps_are_listed(tmp_path) -> None:
    MarketFactory()
    path = write_json(tmp_path / "holes.json", freqtrade_rows(90, skip=tuple(range(2, 90, 3))))

    output = run_import(path)

    assert "29 gaps (29 missing bars), as the bars either side of each hole:" in output
    assert output.count(" missing\n") == 20
    assert "... and 9 more" in output


def test_binance_csv_through_the_command_with_explicit_format(tmp_path) -> None:
    market = MarketFactory()
    path = write_lines(tmp_path / "klines.txt", [binance_line(START_MS), binance_line(START_MS + HOUR)])

    output = run_import(path, format="binance")

    assert "2 1h candles (binance)" in output
    assert len(stored(market)) == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ([binance_line(START_MS), binance_line(START_MS + HOUR, low="200")], r"line 2: inconsistent OHLC"),
        ([binance_line(START_MS), binance_line(START_MS)], r"line 2: duplicate open time"),
        ([binance_line(START_MS), binance_line(START_MS + 90_000)], r"line 2: open time .* is not aligned"),
    ],
)
def test_a_bad_file_imports_nothing(tmp_path, content, message) -> None:
    market = MarketFactory()
    run_import(write_json(tmp_path / "good.json", freqtrade_rows(2, start=START_MS - 10 * HOUR)))
    before = stored(market)

    with pytest.raises(CommandError, match=rf"^bad.csv: {message}.*Nothing was imported\.$"):
        run_import(write_lines(tmp_path / "bad.csv", content))

    assert stored(market) == before
    assert CandleImport.objects.count() == 1


def test_a_failure_during_the_write_rolls_back_every_row(monkeypatch) -> None:
    market = MarketFactory()
    monkeypatch.setattr(services, "WRITE_BATCH_ROWS", 2)
    batches = []

    def crash_after_first_batch(rows: int) -> None:
        batches.append(rows)
        if len(batches) == 2:
            raise RuntimeError("worker killed")

    with pytest.raises(RuntimeError):
        services.candle_series_import(
            market=market,
            timeframe="1h",
            series=series_of(freqtrade_rows(5)),
            source="test",
            progress=crash_after_first_batch,
        )

    assert Candle.objects.count() == 0
    assert CandleImport.objects.count() == 0


def test_unknown_market_lists_the_known_ones(tmp_path) -> None:
    MarketFactory(symbol="ETH/USDT:USDT", base="ETH")
    MarketFactory(exchange=ExchangeId.BINANCE, symbol="SOL/USDT", base="SOL", type=Market.Type.SPOT)
    path = write_json(tmp_path / "BTC_USDT-1h.json", freqtrade_rows(2))

    with pytest.raises(CommandError, match=r"no market BTC/USDT:USDT on binanceusdm \(known there: ETH/USDT:USDT\)"):
        run_import(path)
    with pytest.raises(CommandError, match=r"in the admin .* or with POST /api/v1/markets"):
        run_import(path)


def test_undetectable_file_suggests_format(tmp_path) -> None:
    MarketFactory()
    path = write_lines(tmp_path / "odd.csv", ["date,symbol,open", "2019-10-17 09-AM,BTCUSD,8051"])

    with pytest.raises(CommandError, match=r"odd.csv: cannot tell the format.*pass --format"):
        run_import(path)


@pytest.mark.shared_data
def test_real_btc_hourly_file_through_the_command() -> None:
    path = shared_data_path("ohlcv", "binance_BTCUSDT_1h_2017-2022.freqtrade.json")
    market = MarketFactory(exchange=ExchangeId.BINANCE, symbol="BTC/USDT", type=Market.Type.SPOT)

    output = run_import(path, exchange=ExchangeId.BINANCE, symbol="BTC/USDT")

    assert "45,345 1h candles (freqtrade) for BTC/USDT on binance, 2017-08-17 12:00 to 2022-10-25 03:00 UTC" in output
    assert "27 gaps (127 missing bars), as the bars either side of each hole:" in output
    assert "  2017-09-07 00:00 -> 2017-09-07 07:00  6 missing" in output
    assert "  2018-02-08 08:00 -> 2018-02-09 18:00  33 missing" in output
    assert "... and 7 more" in output
    assert Candle.objects.filter(market=market).count() == 45_345
    first = Candle.objects.filter(market=market).earliest("open_time")
    assert (first.open, first.high) == (Decimal("4261.48"), Decimal("4313.62"))
