"""Benchmark the trading cycle: many paper traders deciding on each new 1-minute candle, no LLM.

    .venv/bin/python bench/bench_cycle.py [--traders 200] [--candles 20] [--warmup 1]
        [--database-url postgres://postgres@127.0.0.1:5432/x]

Each database runs in its own child process on a fresh, migrated database: a throwaway SQLite file,
and, when a PostgreSQL URL is given (the flag or DATABASE_URL), a throwaway `tradeops_bench_cycle`
database on that server (bench_import_candles' helper), dropped at the end.

The child stores two synthetic 1-minute markets (a seeded random walk with 300 bars of history
already released) and `--traders` paper traders, each on its own paper account and one of the two
markets, all following one RSI(14) mean-reversion strategy (long below 40, exit above 60, fixed
20 % sizing, 0.2 % stop, 0.3 % target), so a few cycles trade and most hold, as on the demo.

Each stage forks worker processes that run `apps.traders.tasks.run_trader_cycle` (the django-q2
task) for trader ids taken from one shared queue, as qcluster workers take tasks from the broker.
For every candle the parent releases the next bar (the replay's horizon) and waits until every
trader's cycle has run. In production a cycle that trades only enqueues its plan
(`trade_plan_execute` -> `trade_plan_enqueue`: `async_task(process_trade_plan)` on commit), and a
qcluster runs the plan's execution (entry filled, stop-loss and take-profit placed) as a separate
task. django-q2 runs synchronously here, so the worker holds those enqueued tasks back until the
cycle has returned, then runs them (through django-q2, synchronously) and times them on their own.
The broker's put (one Redis LPUSH or one ORM row) is not in the cycle's figure.

- latency: each run_trader_cycle call (p50, p99 over every counted cycle; p99 of the cycles that
  held and of those that traded), target p99 <= 50 ms;
- execution: each process_trade_plan task a cycle enqueued (p50, p99);
- cycles/s: counted cycles over the wall time of their candles (release to last cycle done);
- peak RSS per worker: the largest worker's resource.getrusage ru_maxrss (forked from the child,
  so it includes the Django process it was forked from).

SQLite runs one worker (SQLite serialises writers: more workers add nothing); PostgreSQL runs one
and then two workers, each stage on its own candles. The first `--warmup` candles of each stage
(each new worker fills its indicator cache from the stored candles) are not counted.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

# The import benchmark's throwaway-PostgreSQL helper, on a database name of our own.
import bench.bench_import_candles as import_bench  # noqa: E402 - needs the project root on sys.path
from bench import common  # noqa: E402 - needs the project root on sys.path

BENCH_DATABASE = "tradeops_bench_cycle"
import_bench.BENCH_DATABASE = BENCH_DATABASE
TRADERS = 200
CANDLES = 20
WARMUP = 1
HISTORY = 300  # bars released before the first cycle: the RSI's warm-up
TARGET_P99_S = 0.050
MINUTE_MS = 60_000
START_MS = 1_672_531_200_000  # 2023-01-01
MARKETS = (("BTC/USDT:USDT", "BTC", 28_000.0), ("ETH/USDT:USDT", "ETH", 1_800.0))
SQLITE_WORKERS = (1,)
POSTGRES_WORKERS = (1, 2)
STRATEGY = {
    "timeframe": "1m",
    "markets": [symbol for symbol, _base, _price in MARKETS],
    "indicators": [{"id": "rsi_14", "kind": "rsi", "period": 14}],
    "entry": {"long": {"left": "rsi_14", "op": "<", "right": 40}},
    "exit": {"long": {"left": "rsi_14", "op": ">", "right": 60}},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""), help="a PostgreSQL server")
    parser.add_argument("--traders", type=int, default=TRADERS)
    parser.add_argument("--candles", type=int, default=CANDLES, help="counted candles per stage")
    parser.add_argument("--warmup", type=int, default=WARMUP, help="candles per stage not counted")
    parser.add_argument(
        "--bench-database", default=BENCH_DATABASE, help="name of the throwaway PostgreSQL database (dropped first)"
    )
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        workers = tuple(int(n) for n in args.child.split(","))
        print(json.dumps(run_stages(args.traders, args.candles, args.warmup, workers)))
        return
    with tempfile.TemporaryDirectory(prefix="tradeops-bench-") as tmp:
        results = [("SQLite", run_child(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", args, SQLITE_WORKERS))]
        if args.database_url.startswith(("postgres://", "postgresql://")):
            import_bench.BENCH_DATABASE = args.bench_database
            with import_bench.throwaway_postgres(args.database_url) as url:
                results.append(("PostgreSQL", run_child(url, args, POSTGRES_WORKERS)))
        else:
            results.append(("PostgreSQL", {}))
    print_table(results, traders=args.traders)


def run_child(database_url: str, args: argparse.Namespace, workers: tuple[int, ...]) -> dict:
    argv = [__file__, "--child", ",".join(map(str, workers)), "--traders", str(args.traders)]
    argv += ["--candles", str(args.candles), "--warmup", str(args.warmup)]
    return common.json_from_child(argv, database_url=database_url, what=f"benchmark child on {database_url}")


# --- the child ----------------------------------------------------------------------------------


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # kilobytes on Linux


def run_stages(traders: int, candles: int, warmup: int, workers: tuple[int, ...]) -> dict:
    """In the child: set Django up with synchronous django-q2, migrate, store the markets and the
    traders, then run one stage per worker count, each on its own candles."""
    # Throwaway keys, synchronous django-q2: the settings pytest runs with, never the developer's .env.
    os.environ["DJANGO_SETTINGS_MODULE"] = "tradeops.settings_test"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    assert settings.Q_CLUSTER.get("sync"), "django-q2 must run tasks synchronously here"
    call_command("migrate", verbosity=0)
    per_stage = warmup + candles
    markets = store_markets(HISTORY + per_stage * len(workers))
    trader_ids = create_traders(traders, markets)
    stages = {}
    for index, count in enumerate(workers):
        first = HISTORY + index * per_stage
        stages[str(count)] = run_stage(trader_ids, range(first, first + per_stage), warmup=warmup, workers=count)
    return stages


def store_markets(bars: int) -> list:
    """The synthetic markets, each with a replay feed released up to its history."""
    from apps.market.candles_io import ms_to_datetime
    from apps.market.models import MarketFeed
    from apps.market.services import candle_series_import, market_create
    from apps.market.synthetic import random_walk_candles

    markets = []
    for seed, (symbol, base, price) in enumerate(MARKETS, start=1):
        market = market_create(
            exchange="binanceusdm",
            symbol=symbol,
            base=base,
            quote="USDT",
            type="swap",
            price_precision=Decimal("0.01"),
            amount_precision=Decimal("0.001"),
            min_amount=Decimal("0.001"),
            min_notional=Decimal(5),
        )
        series = random_walk_candles(
            start_ms=START_MS, count=bars, timeframe_ms=MINUTE_MS, start_price=price, seed=seed
        )
        candle_series_import(market=market, timeframe="1m", series=series, source="bench (synthetic)")
        MarketFeed.objects.create(
            market=market, timeframe="1m", source=MarketFeed.Source.REPLAY, horizon=ms_to_datetime(bar_ms(HISTORY - 1))
        )
        markets.append(market)
    return markets


def bar_ms(index: int) -> int:
    return START_MS + index * MINUTE_MS


def create_traders(count: int, markets: list) -> list[int]:
    """`count` running paper traders through the services, each on its own account and one market."""
    from apps.exchanges.models import ExchangeAccount
    from apps.strategies.services import strategy_create
    from apps.traders.models import RiskProfile
    from apps.traders.services import trader_create, trader_start

    strategy = strategy_create(name="bench RSI", spec=STRATEGY)
    profile = RiskProfile.objects.create(
        name="bench",
        symbol_cooldown_seconds=0,
        max_order_notional=Decimal(1_000_000),
        max_total_notional=Decimal(1_000_000),
        daily_loss_limit=Decimal("0.5"),
        max_drawdown=Decimal("0.5"),
    )
    ids = []
    for index in range(count):
        account = ExchangeAccount.objects.create(
            name=f"bench paper {index}",
            exchange="binanceusdm",
            mode=ExchangeAccount.Mode.PAPER,
            paper_starting_balance=Decimal(10_000),
        )
        trader = trader_create(
            name=f"bench trader {index}",
            account=account,
            risk_profile=profile,
            strategy=strategy,
            markets=[markets[index % len(markets)]],
            sizing="fixed",
            sizing_pct=Decimal(20),
            stop_loss="percent",
            stop_loss_value=Decimal("0.2"),
            take_profit="percent",
            take_profit_value=Decimal("0.3"),
        )
        ids.append(trader_start(trader=trader, user=None).pk)
    return ids


@dataclass(frozen=True)
class Cycle:
    seconds: float
    traded: bool
    executions: tuple[float, ...] = ()


def hold_back_plan_tasks() -> list[tuple]:
    """Make trade_plan_enqueue's async_task record its task instead of running it at once (django-q2
    is synchronous here): what a qcluster's broker does. Returns the list the tasks go to."""
    from apps.traders.services import plans

    held: list[tuple] = []
    plans.async_task = lambda func, *args, **kwargs: held.append((func, args, kwargs))
    return held


def worker_loop(tasks, results) -> None:
    """A forked worker: run each trader id's cycle (what the django-q2 task run_trader_cycle calls)
    and answer its timing; a failure is answered too, so the parent stops instead of waiting."""
    from django_q.tasks import async_task

    from apps.traders.services.cycles import trader_cycle_run

    held = hold_back_plan_tasks()
    clock = time.perf_counter
    while (trader_id := tasks.get()) is not None:
        held.clear()
        started = clock()
        try:
            report = trader_cycle_run(trader_id=trader_id)
            seconds = clock() - started
            executions = []
            for func, args, kwargs in list(held):  # the plan tasks the cycle enqueued, one by one
                task_started = clock()
                async_task(func, *args, **kwargs)
                executions.append(clock() - task_started)
        except Exception as exc:
            results.put(("error", 0.0, f"trader {trader_id}: {exc!r}"))
            continue
        if not report.ran or any(m.outcome in ("error", "skipped") for m in report.markets):
            results.put(("error", seconds, f"the cycle did not decide: {report}"))
            continue
        traded = any(m.outcome == "traded" for m in report.markets)
        results.put(("cycle", seconds, (traded, tuple(executions))))
    results.put(("rss", peak_rss_mb(), False))


def answers(results, count: int) -> list[tuple[str, float, object]]:
    """`count` answers of the workers; the first failure stops the benchmark."""
    done = [results.get(timeout=600) for _ in range(count)]
    failed = [detail for kind, _seconds, detail in done if kind == "error"]
    if failed:
        sys.exit(f"{len(failed)} cycles failed; the first: {failed[0]}")
    return done


def release(bar: int) -> None:
    """Move every feed's horizon to `bar` (what a replay tick does, without its event)."""
    from apps.market.candles_io import ms_to_datetime
    from apps.market.models import MarketFeed

    MarketFeed.objects.update(horizon=ms_to_datetime(bar_ms(bar)))


def run_stage(trader_ids: list[int], bars: range, *, warmup: int, workers: int) -> dict:
    from django.db import connections

    context = multiprocessing.get_context("fork")
    tasks, results = context.Queue(), context.Queue()
    connections.close_all()  # each forked worker opens its own connection
    processes = [context.Process(target=worker_loop, args=(tasks, results)) for _ in range(workers)]
    for process in processes:
        process.start()
    cycles: list[Cycle] = []
    wall = 0.0
    for number, bar in enumerate(bars):
        release(bar)
        started = time.perf_counter()
        for trader_id in trader_ids:
            tasks.put(trader_id)
        done = answers(results, len(trader_ids))
        if number >= warmup:
            wall += time.perf_counter() - started
            cycles += [Cycle(seconds, traded, executions) for _kind, seconds, (traded, executions) in done]
    for _ in processes:
        tasks.put(None)
    rss = [seconds_or_mb for _kind, seconds_or_mb, _detail in answers(results, len(processes))]
    for process in processes:
        process.join()
    return summary(cycles, wall=wall, rss=max(rss))


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def summary(cycles: list[Cycle], *, wall: float, rss: float) -> dict:
    every = [c.seconds for c in cycles]
    return {
        "n": len(cycles),
        "traded": sum(c.traded for c in cycles),
        "p50_s": percentile(every, 0.50),
        "p99_s": percentile(every, 0.99),
        "p99_held_s": percentile([c.seconds for c in cycles if not c.traded], 0.99),
        "p99_traded_s": percentile([c.seconds for c in cycles if c.traded], 0.99),
        "executions": len(executions := [s for c in cycles for s in c.executions]),
        "exec_p50_s": percentile(executions, 0.50),
        "exec_p99_s": percentile(executions, 0.99),
        "per_s": len(cycles) / wall if wall else 0.0,
        "rss_mb": rss,
    }


# --- the table ----------------------------------------------------------------------------------


def ms(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds * 1e3:.1f} ms"


def verdict(p99: float | None) -> str:
    if p99 is None:
        return "—"
    return "met" if p99 <= TARGET_P99_S else "missed"


def print_table(results: list[tuple[str, dict]], *, traders: int) -> None:
    headers = (
        "database",
        "workers",
        "cycles",
        "traded",
        "p50",
        "p99",
        "p99 held",
        "p99 traded",
        "executions",
        "execution p50",
        "execution p99",
        "cycles/s",
        "peak RSS/worker",
        f"p99 <= {TARGET_P99_S * 1e3:.0f} ms",
    )
    rows = []
    for name, stages in results:
        if not stages:
            rows.append((name, "—", *[""] * 11, "skipped: no PostgreSQL URL"))
            continue
        for workers, r in stages.items():
            rows.append(
                (
                    name,
                    workers,
                    f"{r['n']:,}",
                    f"{r['traded']:,}",
                    ms(r["p50_s"]),
                    ms(r["p99_s"]),
                    ms(r["p99_held_s"]),
                    ms(r["p99_traded_s"]),
                    f"{r['executions']:,}",
                    ms(r["exec_p50_s"]),
                    ms(r["exec_p99_s"]),
                    f"{r['per_s']:,.1f}",
                    f"{r['rss_mb']:.0f} MB",
                    verdict(r["p99_s"]),
                )
            )
    print(f"\n{traders:,} paper traders on 1-minute candles, no LLM; target: cycle p99 <= {TARGET_P99_S * 1e3:.0f} ms")
    print("a cycle enqueues its plan; the plan's execution (process_trade_plan) is timed as its own task")
    common.print_table(headers, rows, left=(0, 1, len(headers) - 1))


if __name__ == "__main__":
    main()
