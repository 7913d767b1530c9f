"""Benchmark the indicator library against TA-Lib on 525,600 values (a year of 1-minute candles).

    .venv/bin/python bench/bench_indicators.py [--size 525600] [--repeats 25]

Data: a seeded geometric random walk (closes, with highs and lows around them). Each indicator is
called once to warm up (numba compilation is excluded from the timings and reported on its own),
then ours and TA-Lib's are timed alternately and the best of `--repeats` runs of each is kept.
Target: each indicator within 3x of TA-Lib's time. Needs no Django; TA-Lib is optional (without
it only our timings are printed).

Numba compiles into a temporary cache directory, so the compile times are real ones; a child
process then measures what a later process pays to load that cache instead.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

SIZE = 525_600
SEED = 20230101
REPEATS = 25
TARGET_RATIO = 3.0
STREAM_VALUES = 20_000


def pin_allocator() -> None:
    """Keep freed output arrays in the heap instead of returning them to the OS.

    glibc hands 4 MB arrays out with mmap and adjusts its threshold as blocks are freed, so whether a
    call pays ~1,000 page faults per output array depends on what ran before it: up to 2x either way
    on BBANDS and MACD (three outputs). Fixing the thresholds makes both libraries time arithmetic.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return  # not glibc: nothing to pin
    m_trim_threshold, m_mmap_threshold = -1, -3
    libc.mallopt(m_mmap_threshold, 32 << 20)
    libc.mallopt(m_trim_threshold, 512 << 20)


def random_walk(size: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    close = 30_000.0 * np.exp(np.cumsum(rng.normal(0.0, 0.001, size)))
    high = close * (1.0 + np.abs(rng.normal(0.0, 0.0005, size)))
    low = close * (1.0 - np.abs(rng.normal(0.0, 0.0005, size)))
    return high, low, close


def cases(high: np.ndarray, low: np.ndarray, close: np.ndarray, talib) -> list[tuple[str, Callable, Callable | None]]:
    from apps.strategies import indicators as ind

    def ta(fn: Callable) -> Callable | None:
        return fn if talib is not None else None

    return [
        ("SMA(20)", lambda: ind.sma(close, 20), ta(lambda: talib.SMA(close, 20))),
        ("EMA(20)", lambda: ind.ema(close, 20), ta(lambda: talib.EMA(close, 20))),
        ("RSI(14)", lambda: ind.rsi(close, 14), ta(lambda: talib.RSI(close, 14))),
        ("ATR(14)", lambda: ind.atr(high, low, close, 14), ta(lambda: talib.ATR(high, low, close, 14))),
        ("BBANDS(20, 2)", lambda: ind.bollinger_bands(close, 20, 2.0), ta(lambda: talib.BBANDS(close, 20, 2.0, 2.0))),
        ("MACD(12, 26, 9)", lambda: ind.macd(close, 12, 26, 9), ta(lambda: talib.MACD(close, 12, 26, 9))),
    ]


def first_call_seconds() -> dict[str, float]:
    """Time the first call of each indicator on a tiny input: compilation, or loading the cache."""
    from apps.strategies import indicators as ind

    tiny = np.linspace(100.0, 110.0, 64)
    calls = {
        "sma": lambda: ind.sma(tiny, 5),
        "ema": lambda: ind.ema(tiny, 5),
        "rsi": lambda: ind.rsi(tiny, 5),
        "atr": lambda: ind.atr(tiny + 1.0, tiny - 1.0, tiny, 5),
        "bollinger_bands": lambda: ind.bollinger_bands(tiny, 5, 2.0),
        "macd": lambda: ind.macd(tiny, 3, 6, 4),
    }
    seconds = {}
    for name, call in calls.items():
        started = time.perf_counter()
        call()
        seconds[name] = time.perf_counter() - started
    return seconds


def best_of(repeats: int, ours: Callable, theirs: Callable | None) -> tuple[float, float | None]:
    ours()
    if theirs is not None:
        theirs()
    our_times, their_times = [], []
    # Alternating keeps a burst of load from another process from landing on one side only.
    for _ in range(repeats):
        started = time.perf_counter()
        ours()
        our_times.append(time.perf_counter() - started)
        if theirs is not None:
            started = time.perf_counter()
            theirs()
            their_times.append(time.perf_counter() - started)
    return min(our_times), (min(their_times) if their_times else None)


def identical_share(ours, theirs) -> float:
    """Share of values (NaN included) that are bit-identical to TA-Lib's."""
    pairs = zip(np.atleast_2d(np.asarray(ours)), np.atleast_2d(np.asarray(theirs)), strict=True)
    same = total = 0
    for mine, ref in pairs:
        same += int(np.sum((mine == ref) | (np.isnan(mine) & np.isnan(ref))))
        total += mine.size
    return same / total


def stream_microseconds(close: np.ndarray, high: np.ndarray, low: np.ndarray) -> dict[str, float]:
    from apps.strategies import indicators as ind

    n = min(STREAM_VALUES, close.size)
    values, highs, lows = close[:n].tolist(), high[:n].tolist(), low[:n].tolist()
    streams: dict[str, Callable[[], object]] = {
        "SMAStream(20)": lambda: [s.update(v) for s in [ind.SMAStream(20)] for v in values],
        "EMAStream(20)": lambda: [s.update(v) for s in [ind.EMAStream(20)] for v in values],
        "RSIStream(14)": lambda: [s.update(v) for s in [ind.RSIStream(14)] for v in values],
        "ATRStream(14)": lambda: [
            s.update(h, lo, c) for s in [ind.ATRStream(14)] for h, lo, c in zip(highs, lows, values, strict=True)
        ],
        "BollingerStream(20, 2)": lambda: [s.update(v) for s in [ind.BollingerStream(20, 2.0)] for v in values],
        "MACDStream(12, 26, 9)": lambda: [s.update(v) for s in [ind.MACDStream(12, 26, 9)] for v in values],
    }
    result = {}
    for name, run in streams.items():
        run()
        started = time.perf_counter()
        run()
        result[name] = (time.perf_counter() - started) / n * 1e6
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=SIZE)
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--cache-load-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cache_load_child:
        print(json.dumps(first_call_seconds()))
        return

    with tempfile.TemporaryDirectory(prefix="tradeops-numba-") as cache_dir:
        # Must be set before numba is imported (by the indicators package) to take effect.
        os.environ["NUMBA_CACHE_DIR"] = cache_dir
        run(args.size, args.repeats)
        child = subprocess.run(
            [sys.executable, __file__, "--cache-load-child"],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "NUMBA_CACHE_DIR": cache_dir},
        )
    loaded = json.loads(child.stdout)
    print(f"\nfirst call in a later process (numba cache hit): {sum(loaded.values()) * 1e3:.0f} ms in total")


def run(size: int, repeats: int) -> None:
    pin_allocator()
    started = time.perf_counter()
    import apps.strategies.indicators  # noqa: F401 - import cost, numba's included

    import_seconds = time.perf_counter() - started
    compile_seconds = first_call_seconds()

    import numba

    try:
        import talib
    except ImportError:
        talib = None

    print(
        f"python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}, "
        f"TA-Lib {talib.__version__ if talib else 'absent'}; {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    print(f"import apps.strategies.indicators: {import_seconds * 1e3:.0f} ms")
    print(
        "numba compile (first call, empty cache): "
        + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in compile_seconds.items())
        + f"; total {sum(compile_seconds.values()):.1f} s"
    )

    high, low, close = random_walk(size, SEED)
    print(f"\n{size:,} values, best of {repeats} after a warm-up call\n")
    header = f"{'indicator':<17}{'ours ms':>9}{'TA-Lib ms':>11}{'ratio':>7}  {'target':<8}{'identical':>10}"
    print(header)
    print("-" * len(header))
    worst = 0.0
    for name, ours, theirs in cases(high, low, close, talib):
        our_time, their_time = best_of(repeats, ours, theirs)
        if their_time is None:
            print(f"{name:<17}{our_time * 1e3:>9.2f}{'-':>11}")
            continue
        ratio = our_time / their_time
        worst = max(worst, ratio)
        verdict = "ok" if ratio <= TARGET_RATIO else "MISSED"
        print(
            f"{name:<17}{our_time * 1e3:>9.2f}{their_time * 1e3:>11.2f}{ratio:>7.2f}  {verdict:<8}"
            f"{identical_share(ours(), theirs()):>10.1%}"
        )
    if talib is not None:
        print(f"\nworst ratio {worst:.2f} (target <= {TARGET_RATIO:.0f})")

    print(f"\nstreaming update(), mean over {min(STREAM_VALUES, size):,} values:")
    for name, micros in stream_microseconds(close, high, low).items():
        print(f"  {name:<24}{micros:>6.2f} us")


if __name__ == "__main__":
    main()
