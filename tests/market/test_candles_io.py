from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pytest

from apps.market.candles_io import CandleFileError, datetime_to_ms, detect_format, find_gaps, read_candles
from apps.market.synthetic import random_walk_candles
from tests.conftest import shared_data_path
from tests.market.helpers import (
    HOUR,
    MINUTE,
    START_MS,
    binance_line,
    freqtrade_rows,
    write_json,
    write_lines,
)

BINANCE_HEADER = (
    "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore"
)


def ms(text: str) -> int:
    return datetime_to_ms(datetime.fromisoformat(text).replace(tzinfo=UTC))


# Formats


def test_freqtrade_json_is_parsed(tmp_path) -> None:
    path = write_json(tmp_path / "BTC_USDT-1h.json", freqtrade_rows(3))

    series = read_candles(path, timeframe_ms=HOUR)

    assert series.format == "freqtrade"
    assert series.open_time_ms.tolist() == [START_MS, START_MS + HOUR, START_MS + 2 * HOUR]
    assert series.ohlcv[0].tolist() == [100.0, 102.5, 98.75, 101.0, 10.5]


def test_binance_csv_without_header_in_milliseconds(tmp_path) -> None:
    path = write_lines(tmp_path / "BTCUSDT-1h-2024-01.csv", [binance_line(START_MS), binance_line(START_MS + HOUR)])

    series = read_candles(path, timeframe_ms=HOUR)

    assert series.format == "binance"
    assert series.open_time_ms.tolist() == [START_MS, START_MS + HOUR]
    assert series.ohlcv[1].tolist() == [100.0, 102.5, 98.75, 101.0, 12.5]


def test_binance_csv_with_header_in_microseconds(tmp_path) -> None:
    # Binance's spot dumps switched open_time to microseconds in 2025.
    lines = [BINANCE_HEADER, binance_line(START_MS * 1000), binance_line((START_MS + HOUR) * 1000)]
    path = write_lines(tmp_path / "BTCUSDT-1h-2025-01.csv", lines)

    series = read_candles(path, timeframe_ms=HOUR)

    assert series.format == "binance"
    assert series.open_time_ms.tolist() == [START_MS, START_MS + HOUR]


def test_generic_csv_with_iso_timestamps_naive_is_utc(tmp_path) -> None:
    path = write_lines(
        tmp_path / "btc-perp.csv",
        [
            "timestamp,open,high,low,close,volume",
            "2021-12-31 23:01:00.000000,46319.0,46385.0,46319.0,46377.0,2300413.7295",
            "2021-12-31T23:02:00+00:00,46377.0,46411.0,46377.0,46411.0,1829623.1938",
            "2022-01-01 00:03:00+01:00,46411.0,46420.0,46400.0,46410.0,1.0",
        ],
    )

    series = read_candles(path, timeframe_ms=MINUTE)

    assert series.format == "generic"
    assert series.open_time_ms.tolist() == [
        ms("2021-12-31 23:01:00"),
        ms("2021-12-31 23:02:00"),
        ms("2021-12-31 23:03:00"),
    ]
    assert series.ohlcv[0, 4] == 2300413.7295


def test_generic_csv_with_epoch_seconds_or_milliseconds_and_extra_columns(tmp_path) -> None:
    seconds = START_MS // 1000
    path = write_lines(
        tmp_path / "candles.csv",
        [
            "symbol,timestamp,volume,open,high,low,close",
            f"BTC,{seconds},5,100,102,99,101",
            f"BTC,{START_MS + MINUTE},6,101,103,100,102",
        ],
    )

    series = read_candles(path, timeframe_ms=MINUTE)

    assert series.open_time_ms.tolist() == [START_MS, START_MS + MINUTE]
    assert series.ohlcv.tolist() == [[100, 102, 99, 101, 5], [101, 103, 100, 102, 6]]


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("a.json", json.dumps(freqtrade_rows(1)), "freqtrade"),
        ("no-extension", "\n  " + json.dumps(freqtrade_rows(1)), "freqtrade"),
        ("a.csv", binance_line(START_MS), "binance"),
        ("a.txt", BINANCE_HEADER + "\n" + binance_line(START_MS), "binance"),
        ("a.csv", "timestamp,open,high,low,close,volume\n2024-01-01 00:00:00,1,2,1,2,3", "generic"),
        ("a.csv", "Timestamp,Open,High,Low,Close,Volume\n2024-01-01 00:00:00,1,2,1,2,3", "generic"),
    ],
)
def test_format_is_detected_from_content(tmp_path, name, content, expected) -> None:
    path = tmp_path / name
    path.write_text(content)

    assert detect_format(path) == expected


def test_undetectable_format_asks_for_format_flag(tmp_path) -> None:
    path = write_lines(tmp_path / "coinbase.csv", ["Timestamps are UTC timezone,https://example.com", "date,open"])

    with pytest.raises(CandleFileError, match=r"cannot tell the format.*pass --format \(freqtrade\|binance\|generic\)"):
        read_candles(path, timeframe_ms=HOUR)


def test_explicit_format_skips_detection(tmp_path) -> None:
    # A header-less Binance row also has more than the generic columns; --format settles it.
    path = write_lines(tmp_path / "dump.txt", [binance_line(START_MS)])

    assert read_candles(path, timeframe_ms=HOUR, fmt="binance").format == "binance"
    with pytest.raises(CandleFileError, match="the header lacks timestamp"):
        read_candles(path, timeframe_ms=HOUR, fmt="generic")


# Validation: each bad row is named by its line, with the reason.


def csv_with_row(row: str) -> list[str]:
    good = [binance_line(START_MS), binance_line(START_MS + HOUR)]
    return [*good, row, binance_line(START_MS + 3 * HOUR)]


@pytest.mark.parametrize(
    ("bad_row", "message"),
    [
        (binance_line(START_MS + 2 * HOUR, o="abc"), "line 3: open 'abc' is not a number"),
        (binance_line(START_MS + 2 * HOUR, c=""), "line 3: close '' is not a number"),
        (binance_line(START_MS + 2 * HOUR, h="nan"), "line 3: high is nan, not a finite number"),
        (binance_line(START_MS + 2 * HOUR, h="inf"), "line 3: high is inf, not a finite number"),
        (binance_line(START_MS + 2 * HOUR, low="0"), "line 3: low 0.0 is not positive"),
        (binance_line(START_MS + 2 * HOUR, o="-5"), "line 3: open -5.0 is not positive"),
        (binance_line(START_MS + 2 * HOUR, low="100.5"), "line 3: inconsistent OHLC: low 100.5 and high 102.5"),
        (binance_line(START_MS + 2 * HOUR, h="100.5"), "line 3: inconsistent OHLC: low 98.75 and high 100.5"),
        (binance_line(START_MS + 2 * HOUR).replace(",12.5,", ",-1,"), "line 3: volume -1.0 is negative"),
        (binance_line(START_MS + 2 * HOUR + MINUTE), "line 3: open time 2024-01-01 02:01:00 UTC is not aligned"),
        (binance_line(START_MS + HOUR), "line 3: duplicate open time 2024-01-01 01:00:00 UTC (same as line 2)"),
        (binance_line(START_MS), "line 3: out of order: 2024-01-01 00:00:00 UTC comes after 2024-01-01 01:00:00 UTC"),
        ("1704070800000,1,2,1,2", "line 3: expected 12 columns, found 5"),
        ("1.5e12,1,2,1,2,3,0,0,0,0,0,0", "line 3: open_time '1.5e12' is not an integer"),
        (binance_line(START_MS + 2 * HOUR, o="1e19", h="1e19"), "line 3: a price is 1e+18 or more"),
    ],
)
def test_bad_csv_row_is_named_by_line(tmp_path, bad_row, message) -> None:
    path = write_lines(tmp_path / "bad.csv", csv_with_row(bad_row))

    with pytest.raises(CandleFileError) as error:
        read_candles(path, timeframe_ms=HOUR)

    assert str(error.value).startswith(message)


def test_error_counts_the_other_bad_rows(tmp_path) -> None:
    lines = [binance_line(START_MS + i * HOUR, low="200") for i in range(4)]
    path = write_lines(tmp_path / "bad.csv", lines)

    with pytest.raises(CandleFileError, match=r"^line 1: inconsistent OHLC.*\(3 more bad rows after it\)$"):
        read_candles(path, timeframe_ms=HOUR)


def test_bad_json_row_names_row_and_line(tmp_path) -> None:
    rows = freqtrade_rows(4)
    rows[2][3] = "98.75"
    # indent=1 puts "[" on line 1, then 8 lines per row: row 3 opens on line 18.
    path = write_json(tmp_path / "pretty.json", rows, indent=1)

    with pytest.raises(CandleFileError, match=r'^row 3 \(line 18\): "98.75" is not a number$'):
        read_candles(path, timeframe_ms=HOUR)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda rows: rows[1].pop(), r"^row 2 \(line 1\): expected \[open_time_ms, open, high, low, close, volume\]"),
        (lambda rows: rows[1].__setitem__(5, None), r"^row 2 \(line 1\): null is not a number"),
        (lambda rows: rows[1].__setitem__(1, True), r"^row 2 \(line 1\): true is not a number"),
        (lambda rows: rows[1].__setitem__(2, 1.0), r"^row 2 \(line 1\): inconsistent OHLC"),
        (lambda rows: rows[1].__setitem__(0, rows[1][0] + 1), r"^row 2 \(line 1\): open time .* is not aligned"),
    ],
)
def test_bad_json_values(tmp_path, change, message) -> None:
    rows = freqtrade_rows(3)
    change(rows)
    path = write_json(tmp_path / "one-line.json", rows)

    with pytest.raises(CandleFileError, match=message):
        read_candles(path, timeframe_ms=HOUR)


def test_invalid_json_names_line_and_column(tmp_path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("[\n[1704067200000, 1, 2, 1, 2, 3],\n[1704070800000, 1, 2,, 1, 2, 3]\n]")

    with pytest.raises(CandleFileError, match=r"^line 3 column 22: invalid JSON"):
        read_candles(path, timeframe_ms=HOUR)


def test_generic_csv_bad_timestamp(tmp_path) -> None:
    path = write_lines(tmp_path / "g.csv", ["timestamp,open,high,low,close,volume", "yesterday,1,2,1,2,3"])

    with pytest.raises(CandleFileError, match=r"^line 2: timestamp 'yesterday' is neither ISO 8601"):
        read_candles(path, timeframe_ms=HOUR)


def test_empty_file(tmp_path) -> None:
    with pytest.raises(CandleFileError, match="holds no candles"):
        read_candles(write_json(tmp_path / "empty.json", []), timeframe_ms=HOUR)


def test_wrong_timeframe_is_caught(tmp_path) -> None:
    path = write_json(tmp_path / "BTC_USDT-1h.json", freqtrade_rows(5))

    message = r"^no two consecutive bars are 1m apart \(the closest are 1h apart\); check the timeframe$"
    with pytest.raises(CandleFileError, match=message):
        read_candles(path, timeframe_ms=MINUTE)


# Gaps


def test_no_gaps_in_a_continuous_series() -> None:
    times = np.array([row[0] for row in freqtrade_rows(5)])

    assert find_gaps(times, timeframe_ms=HOUR) == []


def test_gaps_report_the_bars_either_side_and_the_missing_count() -> None:
    times = np.array([row[0] for row in freqtrade_rows(10, skip=(2, 3, 7))])

    gaps = find_gaps(times, timeframe_ms=HOUR)

    assert [(gap.before_ms, gap.after_ms, gap.missing) for gap in gaps] == [
        (START_MS + 1 * HOUR, START_MS + 4 * HOUR, 2),
        (START_MS + 6 * HOUR, START_MS + 8 * HOUR, 1),
    ]
    assert gaps[0].before == datetime(2024, 1, 1, 1, tzinfo=UTC)


def test_synthetic_candles_are_deterministic_and_pass_validation(tmp_path) -> None:
    def make() -> object:
        return random_walk_candles(
            start_ms=START_MS, count=2_000, timeframe_ms=MINUTE, start_price=100.0, seed=7, price_decimals=2
        )

    first, second = make(), make()
    rows = [[t, *v] for t, v in zip(first.open_time_ms.tolist(), first.ohlcv.tolist(), strict=True)]
    reread = read_candles(write_json(tmp_path / "synthetic.json", rows), timeframe_ms=MINUTE)

    assert np.array_equal(first.ohlcv, second.ohlcv)
    assert np.array_equal(reread.ohlcv, first.ohlcv)


# The real Binance BTC/USDT hourly history (../shared/data)


@pytest.mark.shared_data
def test_real_btc_hourly_file_has_the_27_binance_outage_gaps() -> None:
    path = shared_data_path("ohlcv", "binance_BTCUSDT_1h_2017-2022.freqtrade.json")

    series = read_candles(path, timeframe_ms=HOUR)
    gaps = {(gap.before, gap.after): gap.missing for gap in find_gaps(series.open_time_ms, timeframe_ms=HOUR)}

    assert len(series) == 45_345
    assert len(gaps) == 27
    # The manifest's "2017-09-07 00:00→07:00" names the bars either side: 01:00 to 06:00 are missing.
    assert gaps[(datetime(2017, 9, 7, 0, tzinfo=UTC), datetime(2017, 9, 7, 7, tzinfo=UTC))] == 6
    # The long 2018-02-08 maintenance: 33 hours missing between 08:00 and the next day's 18:00.
    assert gaps[(datetime(2018, 2, 8, 8, tzinfo=UTC), datetime(2018, 2, 9, 18, tzinfo=UTC))] == 33
    assert gaps[(datetime(2021, 9, 29, 14, tzinfo=UTC), datetime(2021, 9, 29, 17, tzinfo=UTC))] == 2
    assert sum(gaps.values()) == 127


@pytest.mark.shared_data
def test_real_btc_minute_file_has_the_2023_03_24_halt() -> None:
    path = shared_data_path("ohlcv", "binance_BTCUSDT_1m_2023-03-16_2023-05-01.freqtrade.json")

    series = read_candles(path, timeframe_ms=MINUTE)
    gaps = find_gaps(series.open_time_ms, timeframe_ms=MINUTE)

    assert [(gap.before, gap.after, gap.missing) for gap in gaps] == [
        (datetime(2023, 3, 24, 12, 39, tzinfo=UTC), datetime(2023, 3, 24, 14, 0, tzinfo=UTC), 80)
    ]
