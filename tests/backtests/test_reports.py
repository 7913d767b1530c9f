"""Output files: CSV layouts, the JSON document, a self-contained HTML report, downsampling."""

from __future__ import annotations

import csv
import json
import re
from datetime import UTC, datetime

import numpy as np
import pytest

from apps.backtests.charts import MAX_POINTS, minmax_indexes
from apps.backtests.engine import EXIT, LONG, SHORT, simulate
from apps.backtests.equity_csv import equity_csv_bytes
from apps.backtests.metrics import compute_metrics
from apps.backtests.reports import RunContext, write_outputs
from tests.backtests.helpers import bars, codes, flat, params, synthetic

CONTEXT = RunContext(
    strategy_name="<b>tricky & name</b>",
    strategy_source="file",
    exchange="binanceusdm",
    symbol="BTC/USDT:USDT",
    timeframe="1h",
    spec={"note": "</pre><script>alert(1)</script>"},
)


def test_trades_and_equity_csv_rows(tmp_path) -> None:
    """LONG at 0: buy 100 at bar 1's open 100; EXIT at 1: sell 100 at bar 2's open 110 (pnl 1000);
    SHORT at 2: sell 100 × (11000 / 110) at bar 3's open 110, ends open at 105: pnl 100 × 5 = 500."""
    candles = bars(flat(100), flat(100), flat(110), flat(110), flat(105))
    result = simulate(candles, codes(5, {0: LONG, 1: EXIT, 2: SHORT}), params())
    paths = write_outputs(tmp_path, result, compute_metrics(result, timeframe_ms=3_600_000), CONTEXT)

    with paths.trades.open(newline="") as handle:
        trades = list(csv.DictReader(handle))
    assert [(row["side"], row["exit_reason"]) for row in trades] == [("long", "signal"), ("short", "end_open")]
    assert trades[0] == {
        "entry_time": "2024-01-01T01:00:00Z",
        "exit_time": "2024-01-01T02:00:00Z",
        "side": "long",
        "entry_price": "100.0",
        "exit_price": "110.0",
        "quantity": "100.0",
        "fees": "0.0",
        "pnl": "1000.0",
        "return_pct": "10.0",
        "exit_reason": "signal",
    }
    assert float(trades[1]["pnl"]) == pytest.approx(500.0)
    assert paths.equity.read_text().splitlines() == [
        "time,equity,drawdown",
        "2024-01-01T00:00:00Z,10000.000000,0.00000000",
        "2024-01-01T01:00:00Z,10000.000000,0.00000000",
        "2024-01-01T02:00:00Z,11000.000000,0.00000000",
        "2024-01-01T03:00:00Z,11000.000000,0.00000000",
        "2024-01-01T04:00:00Z,11500.000000,0.00000000",
    ]
    document = json.loads(paths.metrics.read_text())
    assert set(document) == {"metrics", "parameters", "spec"}
    assert document["parameters"]["bars"] == 5
    assert document["metrics"]["trade_count"] == 2


def test_equity_csv_formats_times_and_fixed_point_numbers() -> None:
    times = np.array([0, 951_782_400_000, 4_102_444_799_000], dtype=np.int64)  # 1970, 2000-02-29, 2099-12-31
    text = equity_csv_bytes(times, np.array([0.0, 1234.5678906, -2.5]), np.array([0.0, -0.123456789, -1.0])).decode()

    assert text.splitlines()[1:] == [
        "1970-01-01T00:00:00Z,0.000000,0.00000000",
        "2000-02-29T00:00:00Z,1234.567891,-0.12345679",
        "2099-12-31T23:59:59Z,-2.500000,-1.00000000",
    ]
    rng = np.random.default_rng(1)
    times = np.sort(rng.integers(0, 4_000_000_000_000, 500))
    values = rng.normal(0, 1e6, 500)
    lines = equity_csv_bytes(times, values, values).decode().splitlines()[1:]
    for line, ms, value in zip(lines, times, values, strict=True):
        stamp, equity, _ = line.split(",")
        assert stamp == datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert float(equity) == pytest.approx(value, abs=1e-6)


def test_the_report_is_self_contained_and_escapes_what_it_shows(tmp_path) -> None:
    candles = synthetic(20_000, seed=4)
    rng = np.random.default_rng(2)
    signal = rng.choice([0, LONG, SHORT, EXIT], size=20_000, p=[0.94, 0.02, 0.02, 0.02]).astype(np.int8)
    result = simulate(candles, signal, params(sl_pct=2, tp_pct=3))
    paths = write_outputs(tmp_path, result, compute_metrics(result, timeframe_ms=3_600_000), CONTEXT)
    html = paths.report.read_text()

    assert html.count("<svg") == 3
    assert not re.search(r"https?://|<script|<link|<img|src=|url\(", html, re.IGNORECASE)
    assert "&lt;b&gt;tricky &amp; name&lt;/b&gt;" in html
    assert "&lt;/pre&gt;&lt;script&gt;" in html
    # The charts are downsampled: at most MAX_POINTS points per line.
    for path in re.findall(r'<path d="M([^"]*)" fill="none"', html):
        assert len(path.split(" ")) <= MAX_POINTS
    assert f"long entry ({int((result.trades.side == 1).sum()):,})" in html
    assert f"First 200 of {len(result.trades):,} trades" in html
    assert len(html) < 1_500_000


def test_minmax_downsampling_keeps_every_extreme() -> None:
    rng = np.random.default_rng(0)
    values = np.cumsum(rng.normal(size=100_000))
    values[12_345] = 1e6
    values[54_321] = -1e6

    keep = minmax_indexes(values, 1000)

    assert len(keep) <= 1000
    assert (np.diff(keep) > 0).all()
    assert {12_345, 54_321} <= set(keep.tolist())
    assert values[keep].min() == values.min() and values[keep].max() == values.max()
    assert minmax_indexes(values[:10], 1000).tolist() == list(range(10))
