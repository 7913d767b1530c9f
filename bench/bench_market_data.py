"""Benchmark live market data collection: 50 markets on 1m collected by one worker, by polling and by streaming.

    .venv/bin/python bench/bench_market_data.py [--markets 50] [--ticks 5] [--backfill 1000] [--candles 20]
        [--database-url postgres://postgres@127.0.0.1:5432/postgres]

Each database runs in its own child process on a fresh, migrated database: a throwaway SQLite file, and,
when a PostgreSQL URL is given (the flag or DATABASE_URL), a throwaway `tradeops_bench_market` database on
that server (bench_import_candles' helper), dropped at the end. The child runs Django with the test settings
(throwaway keys, the `market` cache in memory) and the exchange emulator on 127.0.0.1 in its own threads,
serving `--markets` synthetic USDT perpetuals (SYN001/USDT:USDT onwards) whose candles are from 2023, so
every candle the emulator's clock has passed is closed on this machine's clock too. Each market is followed
on 1m by an operator and a paper account on live prices needs the exchange, as in production.

Polling (binanceusdm, then gate): the production path, apps.exchanges.collect.exchange_feeds_collect (what
collect_market_data runs every minute) through the pooled keyless ccxt client.
- backfill: the first tick of feeds never collected stores `--backfill` candles per market
  (MARKET_DATA_BACKFILL_BARS and MARKET_DATA_TICK_BARS set to it, so it is one tick), ccxt's rate limiter on;
- the minute tick: the emulator's clock moves one candle (each market's candle closes), then one tick runs
  with MARKET_DATA_TICK_BARS at its default; `--ticks` counted ticks after one warm-up, with ccxt's rate
  limiter on (as production runs) and then off (the work alone). "stored after close" is, per market, the
  time from the candle's close (the emulator's clock moving) to its row committed when the tick starts at
  that moment. A real schedule does not start at the close: collect_market_data runs every minute at a phase
  set when its schedule was created (and django-q2's scheduler looks every 30 s), so the delay under a
  schedule is modelled as that figure plus a phase uniform over the minute (60 phases, 0.5 s to 59.5 s).
Streaming (binanceusdm, the emulator's websocket front): the production stream engine (apps.exchanges.
streaming: one ccxt.pro client, watch_ohlcv and watch_ticker per market, CollectorSink into the collector)
runs on a thread while the parent moves the emulator's clock `--candles` times after one warm-up; the
emulator pushes the closed kline at once and every market's state every 250 ms (as Binance sends klines).
The engine's clock is the emulator's (its candles are from 2023). "stored after close" is the time from the
push to the row committed.

Stored: the commit of the feed's transaction (an on_commit callback of candles_released). Requests: every
request the emulator receives, counted per stage; Binance's request weight from the klines `limit` (see
BINANCE_KLINES_WEIGHT). Requests per minute: polling sends one tick's requests each minute; streaming's REST
requests are counted over the streamed candles, one a minute. Peak RSS is the child's (the worker's
Django process, ccxt and ccxt.pro; the emulator shares the process).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

# The import benchmark's throwaway-PostgreSQL helper, on a database name of our own.
import bench.bench_import_candles as import_bench  # noqa: E402 - needs the project root on sys.path
from bench import common  # noqa: E402 - needs the project root on sys.path

BENCH_DATABASE = "tradeops_bench_market"
import_bench.BENCH_DATABASE = BENCH_DATABASE
MARKETS = 50
TICKS = 5
BACKFILL = 1000
CANDLES = 20
TIMEFRAME = "1m"
PHASES_S = tuple(i + 0.5 for i in range(60))  # the schedule's phase after the close, uniform over the minute
STREAM_UPDATE_SECONDS = 0.25  # Binance pushes a kline's state every 250 ms
WAIT_SECONDS = 60.0
POLLED_EXCHANGES = ("binanceusdm", "gate")
STREAMED_EXCHANGE = "binanceusdm"
# The exchanges' published limits for public market data, per IP:
# - Binance USDⓈ-M: 2400 request weight per minute (GET /fapi/v1/exchangeInfo rateLimits "REQUEST_WEIGHT",
#   1 MINUTE, 2400; developers.binance.com, USDⓈ-M Futures, "Limits"). Klines weigh by `limit`:
#   [1, 100) 1, [100, 500) 2, [500, 1000] 5, more 10 ("Kline/Candlestick Data"). Other calls here weigh 1.
# - Gate futures v4: public endpoints 200 requests per 10 s per endpoint group (gate.io API v4 docs,
#   "Rate Limit"), 1200 a minute.
# ccxt's own pacing is the cross-check: one call of cost c every c * rateLimit ms (rateLimit 50 for both;
# Binance klines' cost follows the weight, Gate's is 1), so at most 1200 cost units a minute.
LIMITS = {"binanceusdm": ("weight", 2400), "gate": ("requests", 1200)}
BINANCE_KLINES_WEIGHT = ((99, 1), (499, 2), (1000, 5))  # up to this limit, this weight; more: 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""), help="a PostgreSQL server")
    parser.add_argument("--markets", type=int, default=MARKETS)
    parser.add_argument("--ticks", type=int, default=TICKS, help="counted minute ticks per polling stage")
    parser.add_argument("--backfill", type=int, default=BACKFILL, help="candles per market on the first tick")
    parser.add_argument("--candles", type=int, default=CANDLES, help="counted streamed candles")
    parser.add_argument(
        "--bench-database", default=BENCH_DATABASE, help="name of the throwaway PostgreSQL database (dropped first)"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_child_stages(args)))
        return
    with tempfile.TemporaryDirectory(prefix="tradeops-bench-") as tmp:
        results = [("SQLite", run_child(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", args))]
        if args.database_url.startswith(("postgres://", "postgresql://")):
            import_bench.BENCH_DATABASE = args.bench_database
            with import_bench.throwaway_postgres(args.database_url) as url:
                results.append(("PostgreSQL", run_child(url, args)))
    print_tables(results, args)


def run_child(database_url: str, args: argparse.Namespace) -> dict:
    argv = [__file__, "--child", "--markets", str(args.markets), "--ticks", str(args.ticks)]
    argv += ["--backfill", str(args.backfill), "--candles", str(args.candles)]
    return common.json_from_child(argv, database_url=database_url, what=f"benchmark child on {database_url}")


# --- the child ----------------------------------------------------------------------------------------------


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def run_child_stages(args: argparse.Namespace) -> dict:
    """In the child: set Django up, migrate, then poll each exchange and stream Binance's."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "tradeops.settings_test"
    import django

    django.setup()
    from django.core.management import call_command

    from apps.market.models import Market

    call_command("migrate", verbosity=0)
    commits = CommitClock()
    results: dict[str, Any] = {"polling": {}}
    for exchange in POLLED_EXCHANGES:
        with bench_emulator(exchange, markets=args.markets, backfill=args.backfill) as emu:
            markets = store_markets(emu, exchange=exchange)
            results["polling"][exchange] = poll_stages(emu, markets, commits, ticks=args.ticks, backfill=args.backfill)
            if exchange == STREAMED_EXCHANGE:
                results["rss_polling_mb"] = peak_rss_mb()
                results["streaming"] = stream_stage(emu, markets, commits, candles=args.candles)
        Market.objects.filter(exchange=exchange).update(active=False)  # the next exchange's ticks go alone
    results["rss_mb"] = peak_rss_mb()
    return results


@dataclass
class Requests:
    """What the emulator received: (path, klines limit or 0), appended on its handler threads."""

    seen: list[tuple[str, int]] = field(default_factory=list)

    def hook(self, request: Any) -> None:
        limit = dict(parse_qsl(request.raw_query)).get("limit") if "kline" in request.path else None
        self.seen.append((request.path, int(limit or 0)))

    def take(self) -> list[tuple[str, int]]:
        taken, self.seen = self.seen, []
        return taken


def binance_weight(path: str, limit: int) -> int:
    if "klines" not in path:
        return 1
    return next((weight for most, weight in BINANCE_KLINES_WEIGHT if limit <= most), 10)


def request_figures(seen: list[tuple[str, int]], *, exchange: str, minutes: float) -> dict:
    """Requests (and Binance's weight) per minute of exchange time."""
    weight = sum(binance_weight(path, limit) for path, limit in seen) if exchange == "binanceusdm" else len(seen)
    return {"requests_per_min": len(seen) / minutes, "weight_per_min": weight / minutes}


@contextmanager
def bench_emulator(exchange: str, *, markets: int, backfill: int) -> Iterator[Any]:
    """The emulator serving `markets` synthetic perpetuals, `backfill` candles and more into its history,
    recording its requests (emu.bench_requests)."""
    from apps.exchanges.emulator import testing
    from apps.exchanges.emulator.markets import synthetic_perpetuals

    with testing.running_emulator(exchange, extra_markets=synthetic_perpetuals(markets), history=backfill + 10) as emu:
        emu.bench_requests = Requests()
        emu.request_hooks.append(emu.bench_requests.hook)
        yield emu


def store_markets(emu: Any, *, exchange: str) -> list:
    """The emulator's synthetic markets, followed on 1m by an operator, and a paper account on live prices."""
    from apps.exchanges.models import ExchangeAccount
    from apps.market.services import market_create, market_follow

    ExchangeAccount.objects.create(
        name=f"bench {exchange} live prices",
        exchange=exchange,
        mode=ExchangeAccount.Mode.PAPER,
        price_source=ExchangeAccount.PriceSource.LIVE,
        paper_starting_balance=Decimal(10_000),
    )
    markets = []
    for spec in emu.extra_markets.values():
        market = market_create(
            exchange=exchange,
            symbol=spec.symbol,
            base=spec.base,
            quote=spec.quote,
            type="swap",
            price_precision=spec.tick_size,
            amount_precision=spec.step_size,
            min_amount=spec.min_qty,
            min_notional=spec.min_notional,
        )
        market_follow(market=market, timeframe=TIMEFRAME)
        markets.append(market)
    return markets


class CommitClock:
    """When each (market id, candle open time in ms) became the horizon of a committed feed transaction."""

    def __init__(self) -> None:
        from apps.market.events import candles_released

        self.at: dict[tuple[int, int], float] = {}
        self._lock = threading.Lock()
        candles_released.connect(self._released, weak=False, dispatch_uid="bench.market_data.commits")

    def _released(self, *, market: Any, horizon: Any, **_signal: object) -> None:
        from django.db import transaction

        from apps.market.candles_io import datetime_to_ms

        key = (market.pk, datetime_to_ms(horizon))
        transaction.on_commit(lambda: self._record(key))

    def _record(self, key: tuple[int, int]) -> None:
        with self._lock:
            self.at[key] = time.perf_counter()

    def stored(self, markets: list, *, open_ms: int) -> list[float | None]:
        with self._lock:
            return [self.at.get((market.pk, open_ms)) for market in markets]


def aimed_at(emu: Any, **adapter_options: Any) -> AbstractContextManager[None]:
    """Every ccxt client built inside (the pooled one, ccxt.pro's) talks to the emulator; production options
    (ccxt's rate limiter on) unless `adapter_options` says otherwise."""
    from apps.exchanges.emulator import testing

    return testing.aimed_at(emu, **adapter_options)


def poll_stages(emu: Any, markets: list, commits: CommitClock, *, ticks: int, backfill: int) -> dict:
    """The backfill, then the minute ticks with ccxt's rate limiter on and off."""
    from django.conf import settings

    tick_bars = settings.MARKET_DATA_TICK_BARS
    settings.MARKET_DATA_BACKFILL_BARS = settings.MARKET_DATA_TICK_BARS = backfill
    with aimed_at(emu):
        result = {"backfill": backfill_stage(emu, markets)}
        settings.MARKET_DATA_TICK_BARS = tick_bars
        result["limited"] = tick_stage(emu, markets, commits, ticks=ticks)
    with aimed_at(emu, enable_rate_limit=False):
        result["unlimited"] = tick_stage(emu, markets, commits, ticks=ticks)
    return result


def backfill_stage(emu: Any, markets: list) -> dict:
    from apps.exchanges.collect import exchange_feeds_collect
    from apps.market.models import Candle

    emu.bench_requests.take()
    started = time.perf_counter()
    ticks = exchange_feeds_collect()
    seconds = time.perf_counter() - started
    stopped = [tick.reason for tick in ticks if tick.state == "stopped"]
    if stopped:
        sys.exit(f"{len(stopped)} feeds stopped during the backfill; the first: {stopped[0]}")
    stored = Candle.objects.filter(market__in=markets, timeframe=TIMEFRAME).count()
    seen = emu.bench_requests.take()
    return {"seconds": seconds, "candles": stored, "per_s": stored / seconds, "requests": len(seen)}


def tick_stage(emu: Any, markets: list, commits: CommitClock, *, ticks: int) -> dict:
    """One warm-up tick (the pool's new client loads the markets), then `ticks` counted minute ticks."""
    run_tick(emu, markets, commits)
    emu.bench_requests.take()
    walls: list[float] = []
    offsets: list[float] = []
    for _ in range(ticks):
        wall, stored = run_tick(emu, markets, commits)
        walls.append(wall)
        offsets += stored
    seen = emu.bench_requests.take()
    return {
        "wall_p50_s": percentile(walls, 0.5),
        "wall_max_s": max(walls),
        "per_s": len(offsets) / sum(walls),
        "stored_p50_s": percentile(offsets, 0.5),
        "stored_p95_s": percentile(offsets, 0.95),
        "scheduled_p50_s": percentile(scheduled(offsets), 0.5),
        "scheduled_p95_s": percentile(scheduled(offsets), 0.95),
        **request_figures(seen, exchange=emu.exchange, minutes=ticks),
    }


def run_tick(emu: Any, markets: list, commits: CommitClock) -> tuple[float, list[float]]:
    """Close every market's candle, run one collection tick; its wall time and each market's close-to-commit."""
    from apps.exchanges.collect import exchange_feeds_collect

    closing = emu.engine.feed.clock
    closed_at = time.perf_counter()
    emu.advance(1)
    exchange_feeds_collect()
    wall = time.perf_counter() - closed_at
    return wall, offsets_after(commits.stored(markets, open_ms=closing), closed_at)


def offsets_after(stored: list[float | None], moment: float) -> list[float]:
    missing = sum(at is None for at in stored)
    if missing:
        sys.exit(f"{missing} of {len(stored)} markets did not store their closed candle")
    return [at - moment for at in stored if at is not None]


def scheduled(offsets: list[float]) -> list[float]:
    """The close-to-stored delays under a one-minute schedule at each phase of PHASES_S after the close."""
    return [phase + offset for phase in PHASES_S for offset in offsets]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


# --- streaming ----------------------------------------------------------------------------------------------


class EngineThread:
    """The production stream engine on its own event loop thread, as `manage.py stream_market_data` runs it."""

    def __init__(self, emu: Any) -> None:
        from django.conf import settings

        from apps.exchanges.streaming.clients import pro_client
        from apps.exchanges.streaming.engine import StreamEngine, StreamSettings
        from apps.exchanges.streaming.sink import CollectorSink

        stream_settings = StreamSettings(
            poll_seconds=settings.STREAM_POLL_SECONDS, refresh_seconds=settings.STREAM_REFRESH_SECONDS
        )
        self.engine = StreamEngine(
            sink=CollectorSink(),
            client_factory=pro_client,
            settings=stream_settings,
            now_ms=lambda: emu.engine.feed.clock + 1_000,
        )
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        self._thread = threading.Thread(target=self._run, name="bench-stream-engine", daemon=True)

    def _run(self) -> None:
        self._loop.run_until_complete(self.engine.run(self._stop))

    def __enter__(self) -> EngineThread:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=WAIT_SECONDS)


def stream_stage(emu: Any, markets: list, commits: CommitClock, *, candles: int) -> dict:
    """Stream every market; one warm-up candle, then `candles` counted pushes."""
    from apps.market.livecache import market_cache

    market_cache().clear()  # the forming candles polling cached: a forming candle now comes from the stream
    emu.start_streams()
    emu.streams.update_seconds = STREAM_UPDATE_SECONDS
    with aimed_at(emu), EngineThread(emu):
        wait_until(lambda: all_forming(emu, markets), what="every market's forming candle from the stream")
        push_candle(emu, markets, commits)
        emu.bench_requests.take()
        walls: list[float] = []
        offsets: list[float] = []
        for _ in range(candles):
            wall, stored = push_candle(emu, markets, commits)
            walls.append(wall)
            offsets += stored
        seen = emu.bench_requests.take()
    return {
        "per_s": len(offsets) / sum(walls),
        "stored_p50_s": percentile(offsets, 0.5),
        "stored_p95_s": percentile(offsets, 0.95),
        **request_figures(seen, exchange=emu.exchange, minutes=candles),
    }


def push_candle(emu: Any, markets: list, commits: CommitClock) -> tuple[float, list[float]]:
    """Close every market's candle (the emulator pushes it); wait until each is stored."""
    closing = emu.engine.feed.clock
    pushed_at = time.perf_counter()
    emu.advance(1)
    wait_until(lambda: None not in commits.stored(markets, open_ms=closing), what="every streamed candle stored")
    stored = commits.stored(markets, open_ms=closing)
    return max(stored) - pushed_at, offsets_after(stored, pushed_at)


def all_forming(emu: Any, markets: list) -> bool:
    from apps.market.candles_io import datetime_to_ms
    from apps.market.selectors import forming_candle

    clock = emu.engine.feed.clock
    formings = [forming_candle(market=market, timeframe=TIMEFRAME) for market in markets]
    return all(forming is not None and datetime_to_ms(forming.open_time) == clock for forming in formings)


def wait_until(condition: Callable[[], bool], *, what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            sys.exit(f"timed out waiting for {what}")
        time.sleep(0.002)


# --- the tables ---------------------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.0f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def print_tables(results: list[tuple[str, dict]], args: argparse.Namespace) -> None:
    print(f"\n{args.markets} markets x 1m on one worker, the exchange emulator on 127.0.0.1")
    print_polling(results, args)
    print_streaming(results, args)
    print_requests(results)
    rows = [(name, f"{r['rss_polling_mb']:.0f} MB", f"{r['rss_mb']:.0f} MB") for name, r in results]
    common.print_table(("database", "peak RSS: polling", "polling + streaming"), rows)


def print_polling(results: list[tuple[str, dict]], args: argparse.Namespace) -> None:
    print(f"\nPolling: backfill of {args.backfill} candles per market, then {args.ticks} minute ticks")
    headers = ("database", "exchange", "backfill", "backfill candles/s", "rate limiter", "tick p50 (max)")
    headers += ("candles/s", "stored after close p50 / p95", "on a schedule p50 / p95")
    rows = []
    for name, result in results:
        for exchange, stages in result["polling"].items():
            backfill = stages["backfill"]
            for limiter, key in (("on", "limited"), ("off", "unlimited")):
                r = stages[key]
                first = limiter == "on"
                rows.append(
                    (
                        name,
                        exchange,
                        ms(backfill["seconds"]) if first else "",
                        f"{backfill['per_s']:,.0f}" if first else "",
                        limiter,
                        f"{ms(r['wall_p50_s'])} ({ms(r['wall_max_s'])})",
                        f"{r['per_s']:,.1f}",
                        f"{ms(r['stored_p50_s'])} / {ms(r['stored_p95_s'])}",
                        f"{ms(r['scheduled_p50_s'])} / {ms(r['scheduled_p95_s'])}",
                    )
                )
    common.print_table(headers, rows, left=(0, 1, 4))


def print_streaming(results: list[tuple[str, dict]], args: argparse.Namespace) -> None:
    print(f"\nStreaming ({STREAMED_EXCHANGE}, websocket): {args.candles} candles pushed per market")
    headers = ("database", "stored after push p50 / p95", "candles/s")
    rows = [
        (
            name,
            f"{ms(r['streaming']['stored_p50_s'])} / {ms(r['streaming']['stored_p95_s'])}",
            f"{r['streaming']['per_s']:,.0f}",
        )
        for name, r in results
    ]
    common.print_table(headers, rows)


def print_requests(results: list[tuple[str, dict]]) -> None:
    """REST requests a minute of each path (the first database's run: the database does not change them)."""
    result = results[0][1]
    paths = [(f"polling, {exchange}", exchange, stages["limited"]) for exchange, stages in result["polling"].items()]
    paths.append((f"streaming, {STREAMED_EXCHANGE}", STREAMED_EXCHANGE, result["streaming"]))
    headers = ("path", "requests/min", "weight/min", "published limit", "share")
    rows = []
    for label, exchange, r in paths:
        unit, limit = LIMITS[exchange]
        used = r["weight_per_min"]
        rows.append(
            (label, f"{r['requests_per_min']:,.0f}", f"{used:,.0f}", f"{limit:,} {unit}/min", f"{used / limit:.1%}")
        )
    print("\nREST requests to the exchange (ccxt paces each client at 1,200 cost units a minute)")
    common.print_table(headers, rows, left=(0,))


if __name__ == "__main__":
    main()
