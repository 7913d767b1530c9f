"""Read candle files into arrays, validate every row, find gaps. Pure: no Django.

Formats:
  freqtrade  JSON array of [open_time_ms, open, high, low, close, volume]
  binance    Binance kline CSV dump: 12 columns, header optional; open_time in ms, or in
             microseconds (spot dumps since 2025), told apart by magnitude
  generic    CSV whose header names timestamp, open, high, low, close, volume (other columns
             ignored); timestamp is ISO text (naive means UTC) or epoch s/ms/us

A file is all or nothing: the first bad row raises CandleFileError naming its line.
"""

from __future__ import annotations

import csv
import json
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

FORMATS = ("freqtrade", "binance", "generic")
PRICE_COLUMNS = ("open", "high", "low", "close")
GENERIC_COLUMNS = ("timestamp", "open", "high", "low", "close", "volume")
BINANCE_COLUMN_COUNT = 12
FREQTRADE_ROW_LENGTH = 6

# The Candle columns are numeric(30, 12) for prices and numeric(38, 12) for volume; a larger
# value would fail inside the write transaction on PostgreSQL, so it is refused up front.
MAX_PRICE = 1e18
MAX_VOLUME = 1e26
US_PER_MS = 1_000
# Epoch values are told apart by magnitude: 1e11 s is the year 5138, 1e11 ms is 1973,
# 1e14 ms is the year 5138 and 1e14 us is 1973.
SECONDS_BELOW = 1e11
MILLISECONDS_BELOW = 1e14
# Keeps microsecond times exact in float64 (below 2**53) while parsing.
MAX_OPEN_TIME_US = (datetime(2200, 1, 1, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DETECT_BYTES = 4096
# A file whose bars are never one timeframe apart was almost surely given the wrong timeframe
# (1h bars imported as 1m would be one gap per bar); two steps are enough to tell.
MIN_STEPS_FOR_TIMEFRAME_CHECK = 2


class CandleFileError(ValueError):
    """A file that cannot be imported; the message says where and why."""


@dataclass(frozen=True)
class CandleSeries:
    """Validated candles: strictly increasing aligned open times, consistent OHLCV."""

    open_time_ms: np.ndarray  # int64, shape (n,)
    ohlcv: np.ndarray  # float64, shape (n, 5): open, high, low, close, volume
    format: str

    def __len__(self) -> int:
        return len(self.open_time_ms)


@dataclass(frozen=True)
class Gap:
    """A hole between two stored bars: `before` and `after` are the open times either side."""

    before_ms: int
    after_ms: int
    missing: int

    @property
    def before(self) -> datetime:
        return ms_to_datetime(self.before_ms)

    @property
    def after(self) -> datetime:
        return ms_to_datetime(self.after_ms)


def ms_to_datetime(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=int(ms))


def datetime_to_ms(value: datetime) -> int:
    return (value - EPOCH) // timedelta(milliseconds=1)


@dataclass
class CandleRows:
    """Parsed but unvalidated rows. Times are float64 microseconds; `where(i)` names row i."""

    times_us: np.ndarray
    values: np.ndarray
    where: Callable[[int], str]


def detect_format(path: Path) -> str:
    with path.open("rb") as handle:
        head = handle.read(DETECT_BYTES).decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if head.startswith("["):
        return "freqtrade"
    first = next(csv.reader([head.splitlines()[0] if head else ""]), [])
    names = [name.strip().lower() for name in first]
    if set(GENERIC_COLUMNS) <= set(names):
        return "generic"
    if len(first) == BINANCE_COLUMN_COUNT and (names[0] == "open_time" or first[0].strip().isdigit()):
        return "binance"
    raise CandleFileError(
        "cannot tell the format: expected freqtrade JSON ([[open_time_ms, open, high, low, "
        "close, volume], ...]), a 12-column Binance kline CSV, or a CSV with the header "
        f"{','.join(GENERIC_COLUMNS)}; pass --format ({'|'.join(FORMATS)})"
    )


def read_candles(path: Path, *, timeframe_ms: int, fmt: str | None = None) -> CandleSeries:
    fmt = fmt or detect_format(path)
    readers = {"freqtrade": _read_freqtrade, "binance": _read_binance, "generic": _read_generic}
    if fmt not in readers:
        raise CandleFileError(f"unknown format {fmt!r}; allowed: {', '.join(FORMATS)}")
    rows = readers[fmt](path)
    if len(rows.times_us) == 0:
        raise CandleFileError("the file holds no candles")
    open_time_ms = _validate(rows, timeframe_ms=timeframe_ms)
    steps = np.diff(open_time_ms)
    if len(steps) >= MIN_STEPS_FOR_TIMEFRAME_CHECK and steps.min() > timeframe_ms:
        raise CandleFileError(
            f"no two consecutive bars are {_duration(timeframe_ms)} apart (the closest are "
            f"{_duration(int(steps.min()))} apart); check the timeframe"
        )
    return CandleSeries(open_time_ms=open_time_ms, ohlcv=rows.values, format=fmt)


def find_gaps(open_time_ms: np.ndarray, *, timeframe_ms: int) -> list[Gap]:
    steps = np.diff(open_time_ms)
    holes = np.flatnonzero(steps > timeframe_ms)
    return [
        Gap(
            before_ms=int(open_time_ms[i]),
            after_ms=int(open_time_ms[i + 1]),
            missing=int(steps[i] // timeframe_ms - 1),
        )
        for i in holes
    ]


def _read_freqtrade(path: Path) -> CandleRows:
    text = path.read_text(encoding="utf-8-sig")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CandleFileError(f"line {exc.lineno} column {exc.colno}: invalid JSON: {exc.msg}") from None
    if not isinstance(data, list):
        raise CandleFileError("line 1: expected a JSON array of [open_time_ms, open, high, low, close, volume] rows")

    def where(index: int) -> str:
        return f"row {index + 1} (line {_json_item_line(text, index)})"

    number_types = {int, float}
    for index, row in enumerate(data):
        # Exact type checks: bool is an int subclass and numpy would turn "1.5" into 1.5.
        if type(row) is not list or len(row) != FREQTRADE_ROW_LENGTH:
            raise CandleFileError(f"{where(index)}: expected [open_time_ms, open, high, low, close, volume]")
        if not number_types.issuperset(map(type, row)):
            bad = next(value for value in row if type(value) not in number_types)
            raise CandleFileError(f"{where(index)}: {json.dumps(bad)} is not a number")
    table = np.array(data, dtype=np.float64).reshape(-1, FREQTRADE_ROW_LENGTH)
    del data
    return CandleRows(times_us=table[:, 0] * US_PER_MS, values=np.ascontiguousarray(table[:, 1:]), where=where)


def _json_item_line(text: str, index: int) -> int:
    """Line of the index-th element of the top-level array; only called to report an error."""
    decoder = json.JSONDecoder()
    position = text.index("[") + 1
    for _ in range(index + 1):
        while text[position] in " \t\r\n,":
            position += 1
        start = position
        _value, position = decoder.raw_decode(text, position)
    return text.count("\n", 0, start) + 1


def _read_csv(path: Path, parse_row: Callable[[list[str], int], tuple[float, ...]], *, skip_header: bool) -> CandleRows:
    times = array("d")
    values = array("d")
    lines = array("q")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        if skip_header:
            next(reader, None)
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            line = reader.line_num
            time_us, *ohlcv = parse_row(row, line)
            times.append(time_us)
            values.extend(ohlcv)
            lines.append(line)
    line_numbers = np.frombuffer(lines, dtype=np.int64)
    return CandleRows(
        times_us=np.frombuffer(times, dtype=np.float64),
        values=np.frombuffer(values, dtype=np.float64).reshape(-1, 5),
        where=lambda index: f"line {line_numbers[index]}",
    )


def _number(text: str, name: str, line: int) -> float:
    try:
        return float(text)
    except ValueError:
        raise CandleFileError(f"line {line}: {name} {text.strip()!r} is not a number") from None


def _epoch_to_us(value: float) -> float:
    if abs(value) < SECONDS_BELOW:
        return value * 1_000_000
    if abs(value) < MILLISECONDS_BELOW:
        return value * US_PER_MS
    return value


def _read_binance(path: Path) -> CandleRows:
    with path.open(encoding="utf-8-sig") as handle:
        first_field = handle.readline().split(",", 1)[0].strip()
    has_header = not first_field.lstrip("-").isdigit()

    def parse_row(row: list[str], line: int) -> tuple[float, ...]:
        if len(row) != BINANCE_COLUMN_COUNT:
            raise CandleFileError(f"line {line}: expected {BINANCE_COLUMN_COUNT} columns, found {len(row)}")
        try:
            open_time = int(row[0])
        except ValueError:
            raise CandleFileError(f"line {line}: open_time {row[0].strip()!r} is not an integer") from None
        prices = [_number(row[column], name, line) for column, name in enumerate(PRICE_COLUMNS, start=1)]
        return (_epoch_to_us(open_time), *prices, _number(row[5], "volume", line))

    return _read_csv(path, parse_row, skip_header=has_header)


def _read_generic(path: Path) -> CandleRows:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        header = [name.strip().lower() for name in next(csv.reader(handle), [])]
    missing = [name for name in GENERIC_COLUMNS if name not in header]
    if missing:
        raise CandleFileError(f"line 1: the header lacks {', '.join(missing)}; it needs {','.join(GENERIC_COLUMNS)}")
    columns = [header.index(name) for name in GENERIC_COLUMNS]
    width = max(columns) + 1

    def parse_row(row: list[str], line: int) -> tuple[float, ...]:
        if len(row) < width:
            raise CandleFileError(f"line {line}: expected {len(header)} columns, found {len(row)}")
        time_text, *rest = (row[column] for column in columns)
        ohlcv = (_number(text, name, line) for text, name in zip(rest, GENERIC_COLUMNS[1:], strict=True))
        return (_generic_time_us(time_text, line), *ohlcv)

    return _read_csv(path, parse_row, skip_header=True)


def _generic_time_us(text: str, line: int) -> float:
    text = text.strip()
    try:
        return _epoch_to_us(float(text))
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CandleFileError(
            f"line {line}: timestamp {text!r} is neither ISO 8601 (e.g. 2021-12-31 23:01:00) nor epoch s/ms"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return float((moment - EPOCH) // timedelta(microseconds=1))


@dataclass(frozen=True)
class BadRow:
    """The first row that breaks a rule, why, and how many bad rows follow it."""

    index: int
    reason: str
    more: int

    def message(self, rows: CandleRows) -> str:
        more = f" ({self.more} more bad row{'s' if self.more != 1 else ''} after it)" if self.more else ""
        return f"{rows.where(self.index)}: {self.reason}{more}"


def first_bad_row(rows: CandleRows, *, timeframe_ms: int) -> BadRow | None:
    """The first row that is not a consistent, aligned candle later than the row before it; None when all are.

    The rules of every candle TradeOps stores, whether read from a file or fetched from an exchange."""
    times_us, values = rows.times_us, rows.values
    prices, volume = values[:, :4], values[:, 4]
    opens, highs, lows, closes = prices.T
    with np.errstate(invalid="ignore"):
        value_checks: list[tuple[np.ndarray, Callable[[int], str]]] = [
            (~np.isfinite(times_us), lambda i: f"open time {float(times_us[i])} is not a finite number"),
            (~np.isfinite(values).all(axis=1), lambda i: _non_finite_reason(values[i])),
            ((times_us < 0) | (times_us >= MAX_OPEN_TIME_US), lambda i: "open time is out of range (1970-2199)"),
            (times_us != np.rint(times_us), lambda i: "open time has a fraction of a microsecond"),
            ((prices <= 0).any(axis=1), lambda i: _non_positive_reason(prices[i])),
            (volume < 0, lambda i: f"volume {float(volume[i])!r} is negative"),
            ((prices >= MAX_PRICE).any(axis=1), lambda i: f"a price is {MAX_PRICE:.0e} or more"),
            (volume >= MAX_VOLUME, lambda i: f"volume is {MAX_VOLUME:.0e} or more"),
            (
                (lows > np.minimum(opens, closes)) | (highs < np.maximum(opens, closes)),
                lambda i: _ohlc_reason(values[i]),
            ),
        ]
    bad_value = np.zeros(len(times_us), dtype=bool)
    for mask, _reason in value_checks:
        bad_value |= mask
    # A row with a bad time is reported by the checks above; 0 keeps the integer cast defined.
    time_us = np.where(bad_value, 0, times_us).astype(np.int64)
    step_us = timeframe_ms * US_PER_MS
    later = np.concatenate(([True], time_us[1:] > time_us[:-1])) | bad_value | np.roll(bad_value, 1)
    checks = [
        *value_checks,
        (time_us % step_us != 0, lambda i: f"open time {_format_us(time_us[i])} is not aligned to the timeframe"),
        (~later, lambda i: _order_reason(rows, time_us, i)),
    ]
    bad = np.zeros(len(times_us), dtype=bool)
    for mask, _reason in checks:
        bad |= mask
    if not bad.any():
        return None
    first = int(np.argmax(bad))
    reason = next(describe(first) for mask, describe in checks if mask[first])
    return BadRow(index=first, reason=reason, more=int(bad.sum()) - 1)


def _validate(rows: CandleRows, *, timeframe_ms: int) -> np.ndarray:
    """Check every row; return open times in ms. Raises on the first bad row, counting the rest."""
    bad = first_bad_row(rows, timeframe_ms=timeframe_ms)
    if bad is not None:
        raise CandleFileError(bad.message(rows))
    return rows.times_us.astype(np.int64) // US_PER_MS


def _non_finite_reason(row: np.ndarray) -> str:
    name, value = next((n, v) for n, v in zip((*PRICE_COLUMNS, "volume"), row, strict=True) if not np.isfinite(v))
    return f"{name} is {float(value)}, not a finite number"


def _non_positive_reason(prices: np.ndarray) -> str:
    name, value = next((n, v) for n, v in zip(PRICE_COLUMNS, prices, strict=True) if v <= 0)
    return f"{name} {float(value)!r} is not positive"


def _ohlc_reason(row: np.ndarray) -> str:
    open_, high, low, close, _volume = (float(value) for value in row)
    return f"inconsistent OHLC: low {low!r} and high {high!r} must bracket open {open_!r} and close {close!r}"


def _order_reason(rows: CandleRows, time_us: np.ndarray, index: int) -> str:
    current, previous = time_us[index], time_us[index - 1]
    if current == previous:
        return f"duplicate open time {_format_us(current)} (same as {rows.where(index - 1)})"
    return f"out of order: {_format_us(current)} comes after {_format_us(previous)} ({rows.where(index - 1)})"


def _duration(ms: int) -> str:
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000)):
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


def _format_us(value: int) -> str:
    return f"{EPOCH + timedelta(microseconds=int(value)):%Y-%m-%d %H:%M:%S.%f}".removesuffix(".000000") + " UTC"
