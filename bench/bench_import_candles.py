"""Benchmark `manage.py import_candles` on one year of 1-minute candles (525,600 rows).

    .venv/bin/python bench/bench_import_candles.py [--database-url postgres://postgres@127.0.0.1:5432/test]

Writes a seeded synthetic freqtrade JSON file to a temporary directory, then imports it through
the command into a throwaway SQLite database and, when a PostgreSQL URL is given (the flag or
DATABASE_URL), into a throwaway `tradeops_bench` database on that server, which it drops at the end.
Each database runs in its own child process, whose peak RSS (Django, migrate and the import) is
reported; "before import MB" is that peak just before the command runs.
Targets: under 20 s and under 500 MB on both.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from apps.market.candles_io import datetime_to_ms  # noqa: E402 - needs the project root on sys.path
from apps.market.synthetic import random_walk_candles  # noqa: E402
from bench import common  # noqa: E402 - needs the project root on sys.path

ROWS = 525_600
SEED = 20230101
START = datetime(2023, 1, 1, tzinfo=UTC)
BENCH_DATABASE = "tradeops_bench"
TARGET_SECONDS = 20.0
TARGET_MB = 500.0
MARKET = {"exchange": "binanceusdm", "symbol": "BTC/USDT:USDT", "timeframe": "1m"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""), help="a PostgreSQL server")
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_import(args.child)))
        return

    with tempfile.TemporaryDirectory(prefix="tradeops-bench-") as tmp:
        candles = Path(tmp) / "BTC_USDT-1m.json"
        started = time.perf_counter()
        write_freqtrade_json(candles, rows=args.rows)
        size_mb = candles.stat().st_size / 1e6
        print(f"generated {args.rows:,} rows ({size_mb:.1f} MB of JSON) in {time.perf_counter() - started:.1f} s")
        results = [("SQLite", run_child(candles, f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"))]
        if args.database_url.startswith(("postgres://", "postgresql://")):
            with throwaway_postgres(args.database_url) as url:
                results.append(("PostgreSQL", run_child(candles, url)))
        else:
            print("PostgreSQL skipped: pass --database-url postgres://... or set DATABASE_URL")
    print_table(results)


def write_freqtrade_json(path: Path, *, rows: int) -> None:
    series = random_walk_candles(
        start_ms=datetime_to_ms(START),
        count=rows,
        timeframe_ms=60_000,
        start_price=16_500.0,
        seed=SEED,
        price_decimals=1,
    )
    times = series.open_time_ms.tolist()
    with path.open("w") as handle:
        handle.write("[")
        for start in range(0, rows, 10_000):
            chunk = zip(times[start : start + 10_000], series.ohlcv[start : start + 10_000].tolist(), strict=True)
            handle.write(("," if start else "") + ",".join(json.dumps([t, *ohlcv]) for t, ohlcv in chunk))
        handle.write("]")


def run_child(candles: Path, database_url: str) -> dict:
    return common.json_from_child(
        [__file__, "--child", str(candles)], database_url=database_url, what=f"benchmark child on {database_url}"
    )


@contextmanager
def throwaway_postgres(url: str) -> Iterator[str]:
    """BENCH_DATABASE on the server of `url` (a leftover one is dropped first), dropped after."""
    import psycopg

    parts = urlsplit(url)
    maintenance_url = urlunsplit(parts._replace(path="/postgres"))
    drop = f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)"
    with psycopg.connect(maintenance_url, autocommit=True) as conn:
        conn.execute(drop)
        conn.execute(f"CREATE DATABASE {BENCH_DATABASE}")
    try:
        yield urlunsplit(parts._replace(path=f"/{BENCH_DATABASE}"))
    finally:
        with psycopg.connect(maintenance_url, autocommit=True) as conn:
            conn.execute(drop)


def setup_django() -> None:
    """Set Django up in a benchmark's child process with throwaway keys, like
    tradeops/settings_test.py, so a benchmark never needs the developer's .env."""
    from cryptography.fernet import Fernet

    os.environ.setdefault(
        "DJANGO_SECRET_KEY", "bench-" + Fernet.generate_key().decode() + Fernet.generate_key().decode()
    )
    os.environ.setdefault("FIELD_ENCRYPTION_KEY", Fernet.generate_key().decode())
    os.environ["DJANGO_SETTINGS_MODULE"] = "tradeops.settings"
    import django

    django.setup()


def run_import(candles: Path) -> dict:
    """In the child process: migrate a fresh database, then time the command twice."""
    setup_django()
    from django.core.management import call_command

    from apps.market.models import Candle
    from apps.market.services import market_create

    call_command("migrate", verbosity=0)
    market = market_create(
        exchange=MARKET["exchange"],
        symbol=MARKET["symbol"],
        base="BTC",
        quote="USDT",
        type="swap",
        price_precision=Decimal("0.1"),
        amount_precision=Decimal("0.001"),
    )
    baseline_mb = peak_rss_mb()
    timings = []
    for _run in ("first", "again"):
        started = time.perf_counter()
        call_command("import_candles", str(candles), verbosity=0, stdout=io.StringIO(), **MARKET)
        timings.append(time.perf_counter() - started)
    stored = Candle.objects.filter(market=market).count()
    return {
        "seconds": timings[0],
        "again_seconds": timings[1],
        "peak_mb": peak_rss_mb(),
        "baseline_mb": baseline_mb,
        "rows": stored,
    }


def peak_rss_mb() -> float:
    """This process's peak resident set. ru_maxrss would also count the parent's memory: Linux
    carries the high-water mark of the forked copy across exec, VmHWM starts afresh."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / 1e6
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 1e6


def print_table(results: list[tuple[str, dict]]) -> None:
    headers = ("database", "rows", "import s", "re-import s", "rows/s", "peak RSS MB", "before import MB", "verdict")
    lines = []
    for name, result in results:
        ok = result["seconds"] < TARGET_SECONDS and result["peak_mb"] < TARGET_MB
        lines.append(
            (
                name,
                f"{result['rows']:,}",
                f"{result['seconds']:.1f}",
                f"{result['again_seconds']:.1f}",
                f"{result['rows'] / result['seconds']:,.0f}",
                f"{result['peak_mb']:.0f}",
                f"{result['baseline_mb']:.0f}",
                "ok" if ok else f"MISSED (targets: < {TARGET_SECONDS:.0f} s, < {TARGET_MB:.0f} MB)",
            )
        )
    common.print_table(headers, lines, left=(0, 7))
    print(f"targets: under {TARGET_SECONDS:.0f} s and under {TARGET_MB:.0f} MB peak RSS per import")


if __name__ == "__main__":
    main()
