"""`make bench` must run end to end at every commit: each benchmark script runs here on tiny sizes.

These check that the scripts still run and print their table, not how fast anything is (speed
figures come from `make bench` and are reported, never asserted)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from apps.core.llama import llama_installed

BENCH = Path(__file__).resolve().parents[2] / "bench"
# script -> (tiny arguments, a row its table must print)
TINY_RUNS = {
    "bench_indicators.py": (["--size", "2000", "--repeats", "1"], "RSIStream(14)"),
    "bench_import_candles.py": (["--rows", "2000"], "SQLite    2,000"),
    "bench_backtest.py": (["--rows", "3000", "--repeats", "1"], "SQLite    3,000"),
    "bench_paper.py": (["--orders", "4"], "SQLite         4"),
    "bench_ccxt.py": (["--orders", "4", "--warmup", "1"], "gate              4"),
    "bench_cycle.py": (["--traders", "4", "--candles", "2"], "SQLite      1             8"),
    "bench_market_data.py": (
        ["--markets", "3", "--ticks", "1", "--backfill", "20", "--candles", "2"],
        "streaming, binanceusdm",
    ),
    # Without llama-cpp-python (make llm) it prints that and exits; with it, one short decision.
    "bench_ai.py": (
        ["--decisions", "1", "--max-tokens", "120"],
        "first answers valid" if llama_installed() else "not installed (make llm)",
    ),
    "bench_news.py": (["--repeats", "1", "--llama-headlines", "2", "--polls", "1"], " x 1 passes"),
    # Two daphnes over HTTP (ports 8161-8162), limiter on and off; startup dominates.
    "bench_api.py": (["--smoke"], "rate limiter, 2 daphne(s): p50"),
    # Embedded mode only (no BENCH_REDIS_URL / BENCH_DATABASE_URL reach it): 2 clients, 5 events, 10 frames.
    "bench_events.py": (["--smoke", "--port", "0"], "SQLite    embedded          2      10"),
    "bench_trade.py": (
        ["--plans", "4", "--emulator-plans", "2", "--evaluations", "50", "--warmup", "1"],
        "emulator binanceusdm: execute -> protection_placed",
    ),
}


def test_every_benchmark_script_has_a_tiny_run() -> None:
    scripts = {path.name for path in BENCH.glob("bench_*.py")}
    assert scripts == set(TINY_RUNS), "add each new bench/ script to TINY_RUNS so its smoke run guards it"


@pytest.mark.parametrize("script", sorted(TINY_RUNS))
def test_benchmark_runs_on_tiny_sizes(script: str) -> None:
    # The scripts make their own throwaway SQLite databases; no DATABASE_URL, so PostgreSQL rows
    # are skipped by the scripts themselves and the run cannot touch the test database.
    arguments, expected_row = TINY_RUNS[script]
    hidden = {"DATABASE_URL", "BENCH_DATABASE_URL", "BENCH_REDIS_URL"}
    env = {key: value for key, value in os.environ.items() if key not in hidden}
    done = subprocess.run(
        [sys.executable, str(BENCH / script), *arguments],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert done.returncode == 0, f"{script} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    assert expected_row in done.stdout, f"{script} printed no {expected_row!r} row:\n{done.stdout[-2000:]}"
