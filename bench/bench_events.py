"""Live events: event -> websocket latency, throughput and memory on one daphne.

One daphne (`tradeops.asgi:application`) on 127.0.0.1 against a throwaway database; N websocket clients
(aiohttp, logged in with a viewer's session cookie) listen on `/ws/live/`; another process publishes
events the way the worker does (`apps.core.events.publish` inside a transaction) at a steady rate,
each carrying its send time (time.time(), same machine). Measured per stage:

- latency: publish (before the commit) -> frame read by a client, p50 / p95 / p99 over every
  (event, client), target p95 <= 200 ms;
- events/s delivered: frames received by all clients, from the first publish to the last frame;
- lost / duplicate: events a client never received or received twice (must both be 0);
- daphne's RSS (/proc) with the clients connected, and its peak;
- CPU: daphne's and the clients' (this process) CPU time over the stage's wall time (100 % = one core).

Modes: SQLite embedded (the relay polls the Event table every EVENT_RELAY_INTERVAL_MS), PostgreSQL
embedded with --database-url, and channels-redis with --redis-url (on PostgreSQL when given, else
SQLite; the benchmark deletes the channel layer's `asgi*` keys in that Redis database first).
The clients run in this process, one asyncio loop, on the same 2 cores as daphne and the publisher.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

import bench.bench_import_candles as import_bench  # noqa: E402 - needs the project root on sys.path
from bench import common  # noqa: E402 - needs the project root on sys.path

BENCH_DATABASE = "tradeops_bench_events"
CLIENTS = (5, 200)
EVENTS = 200
RATE = 20.0  # events a second
SMOKE_CLIENTS = (2,)
SMOKE_EVENTS = 5
PORT = 8181
TARGET_P95_S = 0.200
SETTLE_S = 1.5  # after the sockets are open: the consumers join the group, the embedded relay starts
DRAIN_S = 5.0  # after the last publish: how long the clients may still receive before the rest is lost
EVENT_RE = re.compile(r'data-event="([^"]*)"')


@dataclass(frozen=True)
class Mode:
    database: str  # SQLite / PostgreSQL
    transport: str  # embedded / Redis
    database_url: str
    redis_url: str


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_DATABASE_URL", ""), help="a PostgreSQL server (optional)"
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("BENCH_REDIS_URL", ""), help="a Redis database for channels-redis"
    )
    parser.add_argument("--clients", default=",".join(map(str, CLIENTS)), help="websocket clients per stage")
    parser.add_argument("--events", type=int, default=EVENTS, help="events published per stage")
    parser.add_argument("--rate", type=float, default=RATE, help="events published a second")
    parser.add_argument("--port", type=int, default=PORT, help="daphne's port on 127.0.0.1 (0: a free one)")
    parser.add_argument("--smoke", action="store_true", help=f"{SMOKE_CLIENTS[0]} clients, {SMOKE_EVENTS} events")
    parser.add_argument(
        "--bench-database", default=BENCH_DATABASE, help="name of the throwaway PostgreSQL database (dropped first)"
    )
    parser.add_argument("--child", choices=("setup", "publish"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "setup":
        print(json.dumps(setup_database()))
        return
    if args.child == "publish":
        print(json.dumps(publish_events(args.events, args.rate)))
        return
    clients = SMOKE_CLIENTS if args.smoke else tuple(int(n) for n in args.clients.split(","))
    events = SMOKE_EVENTS if args.smoke else args.events
    port = args.port or free_port()
    results = []
    with tempfile.TemporaryDirectory(prefix="tradeops-bench-") as tmp, contextlib.ExitStack() as stack:
        for mode in modes(args, Path(tmp), stack):
            results.append((mode, run_mode(mode, clients, events=events, rate=args.rate, port=port, tmp=Path(tmp))))
    print_table(results, events=events, rate=args.rate)


def modes(args: argparse.Namespace, tmp: Path, stack: contextlib.ExitStack) -> Iterator[Mode]:
    sqlite_url = f"sqlite:///{tmp / 'bench.sqlite3'}"
    yield Mode("SQLite", "embedded", sqlite_url, "")
    postgres_url = ""
    if args.database_url.startswith(("postgres://", "postgresql://")):
        import_bench.BENCH_DATABASE = args.bench_database
        postgres_url = stack.enter_context(import_bench.throwaway_postgres(args.database_url))
        yield Mode("PostgreSQL", "embedded", postgres_url, "")
    if args.redis_url:
        delete_channel_keys(args.redis_url)
        yield Mode("PostgreSQL" if postgres_url else "SQLite", "Redis", postgres_url or sqlite_url, args.redis_url)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def delete_channel_keys(redis_url: str) -> None:
    """Groups left by an earlier run would make every publish also fill dead sockets' queues."""
    import redis

    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter("asgi*"):
        client.delete(key)
    client.close()


def child_env(mode: Mode) -> dict[str, str]:
    from cryptography.fernet import Fernet

    env = dict(os.environ, DJANGO_SETTINGS_MODULE="tradeops.settings_test", DEBUG="false")
    env["DATABASE_URL"] = mode.database_url
    env["REDIS_URL"] = mode.redis_url
    # One key for the processes of a mode: the session cookie made by `setup` must verify in daphne.
    env["DJANGO_SECRET_KEY"] = "bench-" + Fernet.generate_key().decode() + Fernet.generate_key().decode()
    env["FIELD_ENCRYPTION_KEY"] = Fernet.generate_key().decode()
    return env


def run_child(args: list[str], env: dict[str, str], *, what: str) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, *args], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        sys.exit(f"{what} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_mode(mode: Mode, clients: tuple[int, ...], *, events: int, rate: float, port: int, tmp: Path) -> list[dict]:
    env = child_env(mode)
    session = run_child(["--child", "setup"], env, what=f"database setup on {mode.database}")
    log = tmp / f"daphne-{mode.database}-{mode.transport}.log"
    with daphne(env, port=port, log=log) as pid:
        return [
            asyncio.run(run_stage(count, session, env=env, events=events, rate=rate, port=port, pid=pid))
            for count in clients
        ]


@contextlib.contextmanager
def daphne(env: dict[str, str], *, port: int, log: Path) -> Iterator[int]:
    command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "tradeops.asgi:application"]
    with log.open("w") as output:
        process = subprocess.Popen(command, env=env, cwd=PROJECT_ROOT, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_until_serving(f"http://127.0.0.1:{port}/", process, log)
        yield process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_serving(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"daphne exited:\n{log.read_text()[-4000:]}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return  # it answered
        except OSError:
            time.sleep(0.2)
    sys.exit(f"daphne did not answer on {url} within 60 s:\n{log.read_text()[-4000:]}")


def cpu_seconds(pid: int) -> float:
    """The process's user + system CPU time so far (/proc/<pid>/stat, in clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> tuple[float, float]:
    """daphne's resident memory now and at its peak (VmRSS, VmHWM), in MB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


# --- the clients (this process) -------------------------------------------------------------------


async def run_stage(count: int, session: dict, *, env: dict, events: int, rate: float, port: int, pid: int) -> dict:
    """Open `count` sockets, have another process publish `events`, and read every frame."""
    import aiohttp

    headers = {"Cookie": f"{session['name']}={session['value']}", "Origin": f"http://127.0.0.1:{port}"}
    received: list[list[tuple[float, str]]] = [[] for _ in range(count)]
    opening = asyncio.Semaphore(20)
    # limit=0: the connector's default pool (100 connections) would hold the 101st socket back forever.
    async with aiohttp.ClientSession(headers=headers, connector=aiohttp.TCPConnector(limit=0)) as http:

        async def open_socket() -> aiohttp.ClientWebSocketResponse:
            async with opening:
                url = f"ws://127.0.0.1:{port}/ws/live/"
                return await asyncio.wait_for(http.ws_connect(url, heartbeat=None, max_msg_size=0), timeout=60)

        sockets = await asyncio.gather(*(open_socket() for _ in range(count)))
        readers = [asyncio.create_task(read(ws, frames)) for ws, frames in zip(sockets, received, strict=True)]
        await asyncio.sleep(SETTLE_S)
        closed = [ws.close_code for ws in sockets if ws.closed]
        if closed:
            sys.exit(f"{len(closed)} sockets were closed by the server (codes {set(closed)}): not logged in?")
        cpu_before, clients_before, wall_before = cpu_seconds(pid), time.process_time(), time.monotonic()
        publisher = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--child", "publish", "--events", str(events), "--rate", str(rate),
            env=env, cwd=PROJECT_ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        stdout, stderr = await publisher.communicate()
        if publisher.returncode != 0:
            sys.exit(f"the publisher failed:\n{stderr.decode()[-4000:]}")
        published = set(json.loads(stdout.decode().strip().splitlines()[-1])["ids"])
        deadline = time.monotonic() + DRAIN_S
        while time.monotonic() < deadline and sum(len(frames) for frames in received) < count * len(published):
            await asyncio.sleep(0.05)
        rss, peak = rss_mb(pid)
        wall = time.monotonic() - wall_before
        cpu = {
            "daphne_cpu": (cpu_seconds(pid) - cpu_before) / wall,
            "clients_cpu": (time.process_time() - clients_before) / wall,
        }
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        await asyncio.gather(*(ws.close() for ws in sockets))
    return summary(received, published, clients=count, rss=rss, peak=peak) | cpu


async def read(ws: object, frames: list[tuple[float, str]]) -> None:
    """Keep each frame with its arrival time; parsing waits until the stage is over."""
    async for message in ws:  # type: ignore[attr-defined]
        frames.append((time.time(), message.data))


def summary(
    received: list[list[tuple[float, str]]], published: set[int], *, clients: int, rss: float, peak: float
) -> dict:
    latencies, lost, duplicates = [], 0, 0
    first, last = float("inf"), 0.0
    for frames in received:
        seen: Counter[int] = Counter()
        for arrived, text in frames:
            match = EVENT_RE.search(text)
            if match is None:
                continue
            event = json.loads(html.unescape(match.group(1)))
            if event["id"] not in published:
                continue
            seen[event["id"]] += 1
            latencies.append(arrived - event["data"]["sent"])
            first, last = min(first, event["data"]["sent"]), max(last, arrived)
        lost += len(published - set(seen))
        duplicates += sum(n - 1 for n in seen.values())
    return {
        "clients": clients,
        "events": len(published),
        "frames": len(latencies),
        "p50_s": percentile(latencies, 0.50),
        "p95_s": percentile(latencies, 0.95),
        "p99_s": percentile(latencies, 0.99),
        "max_s": max(latencies, default=None),
        "per_s": len(latencies) / (last - first) if last > first else 0.0,  # first publish to last frame
        "lost": lost,
        "duplicates": duplicates,
        "rss_mb": rss,
        "peak_mb": peak,
    }


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


# --- the children -------------------------------------------------------------------------------


def setup_django() -> None:
    import django

    django.setup()


def setup_database() -> dict:
    """Migrate and log a viewer in: the session cookie every client sends."""
    setup_django()
    from django.conf import settings
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.test import Client

    from apps.core.roles import Role

    call_command("migrate", verbosity=0)
    user, _ = User.objects.get_or_create(username="bench-viewer")
    user.groups.add(Group.objects.get(name=Role.VIEWER))
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    return {"name": cookie.key, "value": cookie.value}


def publish_events(events: int, rate: float) -> dict:
    """Publish like the worker: one event per transaction, at a steady rate, each with its send time."""
    setup_django()
    from django.db import transaction

    from apps.core.events import EventType, publish

    ids = []
    start = time.monotonic()
    for seq in range(events):
        delay = start + seq / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        with transaction.atomic():
            event = publish(EventType.TRADER, {"bench_seq": seq, "sent": time.time()})
        ids.append(event.pk)
    return {"ids": ids}


# --- the table ----------------------------------------------------------------------------------


def ms(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds * 1e3:.1f} ms"


def verdict(result: dict) -> str:
    if result["p95_s"] is None or result["lost"] or result["duplicates"]:
        return "missed"
    return "met" if result["p95_s"] <= TARGET_P95_S else "missed"


def print_table(results: list[tuple[Mode, list[dict]]], *, events: int, rate: float) -> None:
    headers = (
        "database",
        "events via",
        "clients",
        "frames",
        "p50",
        "p95",
        "p99",
        "max",
        "delivered/s",
        "lost",
        "duplicates",
        "daphne RSS (peak)",
        "CPU daphne / clients",
        f"p95 <= {TARGET_P95_S * 1e3:.0f} ms",
    )
    rows = [
        (
            mode.database,
            mode.transport,
            str(r["clients"]),
            f"{r['frames']:,}",
            ms(r["p50_s"]),
            ms(r["p95_s"]),
            ms(r["p99_s"]),
            ms(r["max_s"]),
            f"{r['per_s']:,.0f}",
            str(r["lost"]),
            str(r["duplicates"]),
            f"{r['rss_mb']:.0f} MB ({r['peak_mb']:.0f} MB)",
            f"{r['daphne_cpu']:.0%} / {r['clients_cpu']:.0%}",
            verdict(r),
        )
        for mode, stages in results
        for r in stages
    ]
    print(f"\n{events:,} events at {rate:g}/s per stage, published by another process, one daphne on 127.0.0.1")
    print(
        "latency: publish -> frame read by a client, over every (event, client);"
        f" target p95 <= {TARGET_P95_S * 1e3:.0f} ms"
    )
    common.print_table(headers, rows, left=(0, 1, len(headers) - 1))


if __name__ == "__main__":
    main()
