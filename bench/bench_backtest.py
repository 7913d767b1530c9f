"""Benchmark the backtester on one year of 1-minute candles (525,600 bars).

    .venv/bin/python bench/bench_backtest.py [--database-url postgres://postgres@127.0.0.1:5432/postgres]

(a) In memory: a seeded synthetic random walk (the import benchmark's series), the
    rsi_mean_reversion preset on 1m with a 1 % stop and a 2 % target. Numba compiles into a
    temporary cache directory first, so the compile time reported is a real one; then the best of
    `--repeats` runs of: signals (indicators, triggers, cooldown), the simulation loop, both
    together (the target: under 0.1 s), and the metrics.
(b) The whole `manage.py backtest` for that year reading its candles from the database: a
    throwaway SQLite database and, when a PostgreSQL URL is given (the flag or DATABASE_URL), a
    throwaway `tradeops_bench_bt` database on that server, dropped at the end. Each database runs
    in a child process that migrates and stores the candles (and, on PostgreSQL, analyses the
    table as autovacuum soon would), then times the command through
    call_command (first run in the process, and again), and once as a fresh `manage.py backtest`
    process (interpreter, Django and numba cache loading included). Target: under 3 s.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apps.market.arrays import CandleArrays

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

# The import benchmark's throwaway-PostgreSQL helper, on a database name of our own so that the
# two benchmarks can run side by side.
import bench.bench_import_candles as import_bench  # noqa: E402 - needs the project root on sys.path
from bench import common  # noqa: E402 - needs the project root on sys.path

BENCH_DATABASE = "tradeops_bench_bt"
import_bench.BENCH_DATABASE = BENCH_DATABASE

ROWS = import_bench.ROWS
SEED = import_bench.SEED
START = datetime(2023, 1, 1, tzinfo=UTC)
REPEATS = 7
SIMULATION_TARGET = 0.1
COMMAND_TARGET = 3.0
MARKET = {"exchange": "binanceusdm", "symbol": "BTC/USDT:USDT"}
OPTIONS = {"sl_pct": 1.0, "tp_pct": 2.0}
COMMAND_ARGS = [
    "--strategy",
    "rsi_mean_reversion",
    "--symbol",
    MARKET["symbol"],
    "--exchange",
    MARKET["exchange"],
    "--timeframe",
    "1m",
    "--sl-pct",
    str(OPTIONS["sl_pct"]),
    "--tp-pct",
    str(OPTIONS["tp_pct"]),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""), help="a PostgreSQL server")
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--skip-database", action="store_true", help="only (a)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_command_child(rows=args.rows, out_root=Path(args.child))))
        return

    with tempfile.TemporaryDirectory(prefix="tradeops-bench-numba-") as cache:
        in_memory = run_in_memory_child(rows=args.rows, repeats=args.repeats, numba_cache=cache)
    print_in_memory(in_memory)
    if args.skip_database:
        return
    results = []
    with tempfile.TemporaryDirectory(prefix="tradeops-bench-bt-") as tmp:
        results.append(("SQLite", run_child(tmp, f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", args.rows)))
        if args.database_url.startswith(("postgres://", "postgresql://")):
            with import_bench.throwaway_postgres(args.database_url) as url:
                results.append(("PostgreSQL", run_child(tmp, url, args.rows)))
        else:
            print("PostgreSQL skipped: pass --database-url postgres://... or set DATABASE_URL")
    print_command_table(results)


# ---------------------------------------------------------------- (a) in memory


def synthetic_candles(rows: int) -> CandleArrays:
    import numpy as np

    from apps.market.arrays import CandleArrays
    from apps.market.candles_io import datetime_to_ms
    from apps.market.synthetic import random_walk_candles

    series = random_walk_candles(
        start_ms=datetime_to_ms(START),
        count=rows,
        timeframe_ms=60_000,
        start_price=16_500.0,
        seed=SEED,
        price_decimals=1,
    )
    return CandleArrays(series.open_time_ms, *(np.ascontiguousarray(series.ohlcv[:, i]) for i in range(5)))


def run_in_memory_child(*, rows: int, repeats: int, numba_cache: str) -> dict:
    """In a child process whose numba cache directory is empty, so the first call compiles."""
    env = {**os.environ, "NUMBA_CACHE_DIR": numba_cache}
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); import bench.bench_backtest as b; "
        "print(json.dumps(b.time_in_memory(rows=int(sys.argv[2]), repeats=int(sys.argv[3]))))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code, str(PROJECT_ROOT), str(rows), str(repeats)],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    if completed.returncode != 0:
        sys.exit(f"in-memory benchmark failed:\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def best_of(repeats: int, function: Callable[[], object]) -> float:
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        timings.append(time.perf_counter() - started)
    return min(timings)


def time_in_memory(*, rows: int, repeats: int) -> dict:
    started = time.perf_counter()
    from apps.backtests.engine import BacktestParams, run_backtest, signal_codes, simulate
    from apps.backtests.metrics import compute_metrics
    from apps.strategies.presets import preset_spec

    import_seconds = time.perf_counter() - started
    candles = synthetic_candles(rows)
    spec = preset_spec("rsi_mean_reversion", timeframe="1m")
    params = BacktestParams(**OPTIONS)

    started = time.perf_counter()
    result = run_backtest(spec, candles, params)
    compute_metrics(result, timeframe_ms=60_000)
    first_call = time.perf_counter() - started
    codes = signal_codes(spec, candles)
    return {
        "rows": len(candles),
        "trades": len(result.trades),
        "import_s": import_seconds,
        "compile_s": first_call,
        "signals_s": best_of(repeats, lambda: signal_codes(spec, candles)),
        "loop_s": best_of(repeats, lambda: simulate(candles, codes, params)),
        "backtest_s": best_of(repeats, lambda: run_backtest(spec, candles, params)),
        "metrics_s": best_of(repeats, lambda: compute_metrics(result, timeframe_ms=60_000)),
    }


def print_in_memory(result: dict) -> None:
    ok = result["backtest_s"] < SIMULATION_TARGET
    print(f"(a) in memory: {result['rows']:,} synthetic 1m bars, rsi_mean_reversion, SL 1 %, TP 2 %")
    print(f"    {result['trades']:,} trades; best of the repeats, numba compilation excluded")
    rows = [
        ("signals: indicators, triggers, cooldown", result["signals_s"]),
        ("simulation loop", result["loop_s"]),
        ("backtest = signals + loop", result["backtest_s"]),
        ("metrics", result["metrics_s"]),
        ("first call, compiling into an empty cache", result["compile_s"]),
        ("importing the modules", result["import_s"]),
    ]
    width = max(len(name) for name, _ in rows)
    for name, seconds in rows:
        print(f"    {name:<{width}}  {seconds * 1000:9.1f} ms")
    verdict = "ok" if ok else "MISSED"
    print(f"    target: backtest under {SIMULATION_TARGET * 1000:.0f} ms -> {verdict}")


# ---------------------------------------------------------------- (b) the command over a database


def run_child(tmp: str, database_url: str, rows: int) -> dict:
    out_root = Path(tmp) / f"out-{abs(hash(database_url))}"
    return common.json_from_child(
        [__file__, "--child", str(out_root), "--rows", str(rows)],
        database_url=database_url,
        what=f"benchmark child on {database_url}",
    )


def run_command_child(*, rows: int, out_root: Path) -> dict:
    """In the child: migrate a fresh database, store the candles, time the command."""
    import numpy as np

    import_bench.setup_django()
    from django.core.management import call_command

    from apps.backtests.models import BacktestRun
    from apps.market import selectors
    from apps.market.candles_io import CandleSeries
    from apps.market.services import candle_series_import, candle_table_tidy, market_create

    call_command("migrate", verbosity=0)
    market = market_create(
        base="BTC",
        quote="USDT",
        type="swap",
        price_precision=Decimal("0.1"),
        amount_precision=Decimal("0.001"),
        **MARKET,
    )
    candles = synthetic_candles(rows)
    series = CandleSeries(
        open_time_ms=candles.open_time,
        ohlcv=np.column_stack([candles.open, candles.high, candles.low, candles.close, candles.volume]),
        format="synthetic",
    )
    started = time.perf_counter()
    candle_series_import(market=market, timeframe="1m", series=series, source="bench", synthetic=True)
    store_seconds = time.perf_counter() - started
    # What import_candles does after a bulk import (VACUUM ANALYZE on PostgreSQL).
    candle_table_tidy(rows_written=len(series))

    started = time.perf_counter()
    stored = selectors.candle_arrays(market=market, timeframe="1m")
    read_seconds = time.perf_counter() - started

    timings = []
    for run in ("first", "again"):
        started = time.perf_counter()
        call_command("backtest", *COMMAND_ARGS, "--out", str(out_root / run), verbosity=0, stdout=io.StringIO())
        timings.append(time.perf_counter() - started)
    last = BacktestRun.objects.order_by("-id").first()

    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "manage.py", "backtest", *COMMAND_ARGS, "--out", str(out_root / "fresh"), "-v", "0"],
        cwd=PROJECT_ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
    )
    fresh_seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"manage.py backtest failed:\n{completed.stderr}")
    return {
        "rows": len(stored),
        "trades": last.trade_count,
        "store_s": store_seconds,
        "read_s": read_seconds,
        "command_s": timings[0],
        "again_s": timings[1],
        "recorded_s": last.duration_seconds,
        "fresh_s": fresh_seconds,
    }


def print_command_table(results: list[tuple[str, dict]]) -> None:
    headers = (
        "database",
        "bars",
        "trades",
        "read candles s",
        "command s",
        "again s",
        "fresh process s",
        "verdict",
    )
    lines = []
    for name, result in results:
        ok = max(result["command_s"], result["again_s"]) < COMMAND_TARGET
        lines.append(
            (
                name,
                f"{result['rows']:,}",
                f"{result['trades']:,}",
                f"{result['read_s']:.2f}",
                f"{result['command_s']:.2f}",
                f"{result['again_s']:.2f}",
                f"{result['fresh_s']:.2f}",
                "ok" if ok else f"MISSED (target: < {COMMAND_TARGET:.0f} s)",
            )
        )
    print()
    print("(b) manage.py backtest over one year of stored 1m candles (rsi_mean_reversion, SL 1 %, TP 2 %)", end="")
    common.print_table(headers, lines, left=(0, 7))
    print(
        f"target: the command under {COMMAND_TARGET:.0f} s (call_command in a process with Django set up); "
        "'fresh process' adds interpreter start, Django setup and loading numba's cache"
    )


if __name__ == "__main__":
    main()
