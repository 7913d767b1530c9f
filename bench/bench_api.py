"""Benchmark the authenticated REST API under a bounded load: one daphne and two, rate limiter on and off.

    .venv/bin/python bench/bench_api.py [--requests 2000] [--concurrency 16] [--port 8161]
        [--database-url postgres://postgres@127.0.0.1:5432/x] [--redis-url redis://127.0.0.1:6379/7] [--smoke]

The database is a throwaway one: `tradeops_bench_api` on the PostgreSQL server of --database-url (or
BENCH_DATABASE_URL), dropped at the end; without one, a SQLite file. It is migrated and seeded with an
operator, a read-scoped API key and TRADERS traders. Two daphne processes (ports --port and --port + 1,
production settings, DEBUG off) are started with the rate limiter on (limits far above the load, so every
request is counted but none refused), then again with it off (API_RATE_LIMITS_ENABLED=false); each time
the load goes to the first daphne alone, then to both:

- `--concurrency` clients (asyncio + httpx, keep-alive) send `--requests` GET /api/v1/traders with
  `Authorization: Bearer <key>` between them, spread over the daphnes round-robin; the first
  `--warmup` requests of each run are not timed.
- req/s is the timed requests over the wall time; p50 and p95 the per-request latency. Any answer but
  200 counts as an error (and is printed).

With --redis-url (or REDIS_URL) the limiter counts in Redis, shared by the daphnes, as in production;
without it each daphne counts in its own memory. The load generator runs on the same machine as the
servers and the database: the figures are for comparing the rows, not a capacity plan.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

import bench.bench_import_candles as import_bench  # noqa: E402 - needs the project root on sys.path
from bench import common  # noqa: E402 - needs the project root on sys.path
from tradeops import keygen  # noqa: E402 - needs the project root on sys.path

import_bench.BENCH_DATABASE = "tradeops_bench_api"
REQUESTS = 2000
CONCURRENCY = 16
WARMUP = 50
TRADERS = 20
PORT = 8161
PATH = "/api/v1/traders"
HIGH_LIMIT = "1000000/min"
SERVER_LOG = Path(tempfile.gettempdir()) / "tradeops_bench_api_servers.log"

SEED = f"""
import django
django.setup()
from apps.core.api_keys import api_key_create
from tests.factories import TraderFactory, UserFactory

user = UserFactory(username="bench", role="operator")
for _ in range({TRADERS}):
    TraderFactory()
print(api_key_create(user=user, name="bench", scope="read", expires_in_days=30).key)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", ""), help="PostgreSQL")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", ""))
    parser.add_argument("--requests", type=int, default=REQUESTS)
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    parser.add_argument("--warmup", type=int, default=WARMUP)
    parser.add_argument("--port", type=int, default=PORT, help="the first daphne's port; the second's is +1")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: does it run end to end")
    args = parser.parse_args()
    if args.smoke:
        args.requests, args.concurrency, args.warmup = 40, 4, 4
    label = "PostgreSQL" if args.database_url else "SQLite"
    SERVER_LOG.unlink(missing_ok=True)
    rows = []
    with database(args.database_url) as database_url:
        env = server_environment(database_url=database_url, redis_url=args.redis_url)
        manage = [sys.executable, str(PROJECT_ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True, cwd=PROJECT_ROOT)
        key = subprocess.run(
            [sys.executable, "-c", SEED], env=env, check=True, cwd=PROJECT_ROOT, capture_output=True, text=True
        ).stdout.split()[-1]
        for limiter in ("on", "off"):
            run_env = {**env, "API_RATE_LIMITS_ENABLED": "true" if limiter == "on" else "false"}
            # Both daphnes start together; the one-daphne run leaves the second idle.
            with daphnes([args.port, args.port + 1], run_env) as ports:
                for servers in (1, 2):
                    result = asyncio.run(load(ports[:servers], key, args.requests, args.concurrency, args.warmup))
                    rows.append((label, str(servers), limiter, result))
    rows.sort(key=lambda row: (row[1], row[2] != "on"))
    common.print_table(
        ["database", "daphnes", "limiter", "requests", "clients", "req/s", "p50 ms", "p95 ms", "errors"],
        [
            (
                label,
                servers,
                limiter,
                f"{result['requests']:,}",
                str(args.concurrency),
                f"{result['rate']:,.0f}",
                f"{result['p50']:.1f}",
                f"{result['p95']:.1f}",
                str(result["errors"]),
            )
            for label, servers, limiter, result in rows
        ],
        left=(0, 2),
    )
    for servers_on, servers_off in ((0, 1), (2, 3)):
        on, off = rows[servers_on][3], rows[servers_off][3]
        overhead = (on["p50"] - off["p50"]) / off["p50"] * 100 if off["p50"] else 0.0
        print(f"rate limiter, {rows[servers_on][1]} daphne(s): p50 {overhead:+.0f} % with it on")
    statuses: Counter[int] = Counter()
    for *_, result in rows:
        statuses.update(result["statuses"])
    if set(statuses) - {200}:
        print(f"answers: {dict(statuses)}; the servers' log: {SERVER_LOG}")


@contextmanager
def database(url: str) -> Iterator[str]:
    if url:
        with import_bench.throwaway_postgres(url) as bench_url:
            yield bench_url
        return
    with tempfile.TemporaryDirectory() as folder:
        yield f"sqlite:///{folder}/bench.sqlite3"


def server_environment(*, database_url: str, redis_url: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tradeops.settings",
        "DATABASE_URL": database_url,
        "DJANGO_SECRET_KEY": keygen.new_secret_key(),
        "FIELD_ENCRYPTION_KEY": keygen.new_field_encryption_key(),
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "API_RATE_LIMIT_KEY": HIGH_LIMIT,
        "API_RATE_LIMIT_USER": HIGH_LIMIT,
        "LOG_LEVEL": "WARNING",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    else:
        env.pop("REDIS_URL", None)
    return env


@contextmanager
def daphnes(ports: list[int], env: dict[str, str]) -> Iterator[list[int]]:
    log = SERVER_LOG.open("a")
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "tradeops.asgi:application"],
            env=env,
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for port in ports
    ]
    try:
        for port in ports:
            wait_ready(port)
        yield ports
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


def wait_ready(port: int, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    sys.exit(f"daphne on port {port} did not become ready within {timeout} s")


async def load(ports: list[int], key: str, requests: int, concurrency: int, warmup: int) -> dict:
    """`requests` timed GETs (after `warmup` untimed ones) from `concurrency` clients over the ports."""
    import httpx

    urls = [f"http://127.0.0.1:{port}{PATH}" for port in ports]
    headers = {"Authorization": f"Bearer {key}"}
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    numbers = iter(range(requests))  # shared: each client takes the next request number until none is left

    async def client(http: httpx.AsyncClient) -> None:
        for number in numbers:
            started = time.perf_counter()
            response = await http.get(urls[number % len(urls)], headers=headers)
            latencies.append(time.perf_counter() - started)
            statuses[response.status_code] += 1

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        # Untimed first, so that the timed requests find the servers warm.
        for number in range(warmup):
            await http.get(urls[number % len(urls)], headers=headers)
        started = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "rate": len(latencies) / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p95": latencies[max(0, int(len(latencies) * 0.95) - 1)] * 1000,
        "errors": sum(count for status, count in statuses.items() if status != 200),
        "statuses": dict(statuses),
    }


if __name__ == "__main__":
    main()
