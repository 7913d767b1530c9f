"""Benchmark the trade path: the risk gate, then a trade plan from preview to its protective orders.

    .venv/bin/python bench/bench_trade.py [--plans 200] [--emulator-plans 50] [--evaluations 20000]
        [--database-url postgres://postgres@127.0.0.1:5432/x]

Each database runs in its own child process on a fresh, migrated database: a throwaway SQLite
file, and, when a PostgreSQL URL is given (the flag or DATABASE_URL), a throwaway
`tradeops_bench_trade` database on that server (bench_import_candles' helper), dropped at the end.
django-q2 runs synchronously in the child (tradeops/settings_test.py), so trade_plan_execute
returns once the task it enqueues on commit has placed the entry, the stop-loss and the take-profit.

- RiskManager.evaluate: `--evaluations` calls on one plan (sized by risk, then scaled down by the
  order cap) with 3 open positions; pure Python, no database.
- paper: `--plans` market plans with a stop-loss and a take-profit on a paper account over stored
  1-minute candles, alternating buy and sell, each closed (trade_plan_close) before the next so the
  margin never runs out. "preview" times trade_plan_preview (validation, the risk gate, the
  estimate, the stored plan); "execute" times trade_plan_execute until the plan is
  protection_placed (the risk gate again, entry, stop-loss, take-profit), which is asserted.
- emulator (SQLite child only): the same on a testnet binanceusdm account whose ccxt client talks to
  the exchange emulator on 127.0.0.1 (as bench/bench_ccxt.py), `--emulator-plans` plans. Every
  adapter is a new ccxt client, which loads the markets again: that is what production does.

The first `--warmup` plans of each stage are excluded. "peak RSS" is the child's peak
(resource.getrusage) at the end of that stage: a running maximum, so the emulator row includes ccxt.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

# The import benchmark's throwaway-PostgreSQL helper, on a database name of our own.
import bench.bench_import_candles as import_bench  # noqa: E402 - needs the project root on sys.path
from bench import common  # noqa: E402 - needs the project root on sys.path

BENCH_DATABASE = "tradeops_bench_trade"
import_bench.BENCH_DATABASE = BENCH_DATABASE
EVALUATIONS = 20_000
PLANS = 200
EMULATOR_PLANS = 50
WARMUP = 5
SYMBOL = "BTC/USDT:USDT"
CANDLES = 100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""), help="a PostgreSQL server")
    parser.add_argument("--evaluations", type=int, default=EVALUATIONS)
    parser.add_argument("--plans", type=int, default=PLANS)
    parser.add_argument("--emulator-plans", type=int, default=EMULATOR_PLANS)
    parser.add_argument("--warmup", type=int, default=WARMUP)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_stages(args.evaluations, args.plans, args.emulator_plans, args.warmup)))
        return
    with tempfile.TemporaryDirectory(prefix="tradeops-bench-") as tmp:
        # The emulator stage needs one database only; SQLite's child runs it.
        results = [("SQLite", run_child(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", args, args.emulator_plans))]
        if args.database_url.startswith(("postgres://", "postgresql://")):
            with import_bench.throwaway_postgres(args.database_url) as url:
                results.append(("PostgreSQL", run_child(url, args, 0)))
        else:
            print("PostgreSQL skipped: pass --database-url postgres://... or set DATABASE_URL")
    print_table(results)


def run_child(database_url: str, args: argparse.Namespace, emulator_plans: int) -> dict:
    argv = [__file__, "--child", "--evaluations", str(args.evaluations), "--plans", str(args.plans)]
    argv += ["--emulator-plans", str(emulator_plans), "--warmup", str(args.warmup)]
    return common.json_from_child(argv, database_url=database_url, what=f"benchmark child on {database_url}")


# --- the child ----------------------------------------------------------------------------------


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def summary(timings: list[float], *, total: float | None = None) -> dict:
    ordered = sorted(timings)
    total = sum(ordered) if total is None else total
    return {
        "n": len(ordered),
        "median_s": statistics.median(ordered),
        "p99_s": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        "mean_s": total / len(ordered),
        "per_s": len(ordered) / total,
        "rss_mb": peak_rss_mb(),
    }


def run_stages(evaluations: int, plans: int, emulator_plans: int, warmup: int) -> dict:
    """In the child: set Django up with synchronous django-q2, migrate, then time each stage."""
    # Throwaway keys, synchronous django-q2: the settings pytest runs with, never the developer's .env.
    os.environ["DJANGO_SETTINGS_MODULE"] = "tradeops.settings_test"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    assert settings.Q_CLUSTER.get("sync"), "django-q2 must run tasks synchronously here"
    call_command("migrate", verbosity=0)
    stages = {"evaluate": bench_evaluate(evaluations)}
    stages |= bench_paper(plans, warmup)
    if emulator_plans:
        stages |= bench_emulator(emulator_plans, warmup)
    return stages


def bench_evaluate(evaluations: int) -> dict:
    """RiskManager.evaluate on a risk-sized buy that the order cap scales down, 3 positions open."""
    from apps.traders.risk import (
        AccountSnapshot,
        Decision,
        MarketLimits,
        OpenPosition,
        PlanRequest,
        RiskLimits,
        RiskManager,
    )

    now_ms = 1_700_000_000_000
    manager = RiskManager(
        RiskLimits(
            max_leverage=5,
            max_order_notional=Decimal(5000),
            max_total_notional=Decimal(20000),
            max_open_positions=5,
            symbol_cooldown_seconds=300,
            risk_per_trade=Decimal("0.01"),
            min_order_notional=Decimal(10),
            max_symbol_notional=Decimal(10000),
            max_asset_notional=Decimal(12000),
            require_stop_loss=True,
            daily_loss_limit=Decimal("0.03"),
            max_drawdown=Decimal("0.10"),
            reset_daily_halt_next_day=True,
        )
    )
    account = AccountSnapshot(
        equity=Decimal("10250.37"),
        free_margin=Decimal("7800.12"),
        positions=(
            OpenPosition(symbol="ETH/USDT:USDT", base="ETH", notional=Decimal("3120.50")),
            OpenPosition(symbol="SOL/USDT:USDT", base="SOL", notional=Decimal("1480.20")),
            OpenPosition(symbol="BTC/USDT", base="BTC", notional=Decimal("2100")),
        ),
        last_entry_ms={SYMBOL: now_ms - 900_000, "ETH/USDT:USDT": now_ms - 60_000},
        now_ms=now_ms,
    )
    market = MarketLimits(
        symbol=SYMBOL,
        base="BTC",
        step=Decimal("0.001"),
        min_amount=Decimal("0.001"),
        min_notional=Decimal(5),
        max_leverage=125,
        is_spot=False,
    )
    plan = PlanRequest(
        symbol=SYMBOL,
        side="buy",
        entry_price=Decimal("28000.0"),
        stop_loss=Decimal("27500.0"),
        take_profit=Decimal("29000.0"),
        leverage=3,
        quantity=None,
        live=False,
    )
    report = manager.evaluate(plan, account, market)
    # 1 % of equity over a 500 stop distance is 0.205 BTC (5,740 USDT): the 5,000 order cap scales it.
    assert (report.decision, report.quantity) == (Decision.SCALED_DOWN, Decimal("0.178")), report
    evaluate, clock = manager.evaluate, time.perf_counter
    timings = []
    started = clock()
    for _ in range(evaluations):
        before = clock()
        evaluate(plan, account, market)
        timings.append(clock() - before)
    return summary(timings, total=clock() - started)


def plan_cycle(trader, index: int, prices: tuple[Decimal, Decimal, Decimal], quantity: Decimal):
    """Preview, execute (to protection_placed) and close one plan; returns the two timings."""
    from apps.traders.models import TradePlan
    from apps.traders.services.plans import PlanInput, trade_plan_close, trade_plan_execute, trade_plan_preview

    price, stop_distance, target_distance = prices
    buy = index % 2 == 0
    sign = 1 if buy else -1
    request = PlanInput(
        trader_id=trader.pk,
        symbol=SYMBOL,
        side="buy" if buy else "sell",
        quantity=quantity,
        stop_loss=price - sign * stop_distance,
        take_profit=price + sign * target_distance,
    )
    started = time.perf_counter()
    preview = trade_plan_preview(plan=request, user=None)
    previewed = time.perf_counter()
    assert preview.status == TradePlan.Status.PREVIEWED, preview.status_reason
    plan = trade_plan_execute(plan_id=preview.pk, user=None)
    executed = time.perf_counter()
    assert plan.status == TradePlan.Status.PROTECTION_PLACED, (plan.status, plan.status_reason)
    trade_plan_close(plan=plan, user=None)
    plan.refresh_from_db()
    assert plan.status == TradePlan.Status.COMPLETED, (plan.status, plan.status_reason)
    return previewed - started, executed - previewed


def bench_risk_profile(name: str):
    from apps.traders.models import RiskProfile

    return RiskProfile.objects.create(
        name=name,
        symbol_cooldown_seconds=0,
        max_order_notional=Decimal(1_000_000),
        max_total_notional=Decimal(1_000_000),
        daily_loss_limit=Decimal("0.5"),
        max_drawdown=Decimal("0.5"),
    )


def bench_paper(plans: int, warmup: int) -> dict:
    import numpy as np

    from apps.exchanges.models import ExchangeAccount
    from apps.market.candles_io import CandleSeries, ms_to_datetime
    from apps.market.models import MarketFeed
    from apps.market.services import candle_series_import, market_create
    from apps.traders.models import Trader

    market = market_create(
        exchange="binanceusdm",
        symbol=SYMBOL,
        base="BTC",
        quote="USDT",
        type="swap",
        price_precision=Decimal("0.1"),
        amount_precision=Decimal("0.001"),
        min_amount=Decimal("0.001"),
        min_notional=Decimal("5"),
    )
    start = 1_672_531_200_000  # 2023-01-01
    times = start + np.arange(CANDLES, dtype=np.int64) * 60_000
    ohlcv = np.tile([20_000.0, 20_010.0, 19_990.0, 20_000.0, 1.0], (CANDLES, 1))
    candle_series_import(
        market=market, timeframe="1m", series=CandleSeries(open_time_ms=times, ohlcv=ohlcv, format="bench"), source="b"
    )
    # A replay feed released up to the last candle: the paper price is its close.
    MarketFeed.objects.create(
        market=market, timeframe="1m", source=MarketFeed.Source.REPLAY, horizon=ms_to_datetime(int(times[-1]))
    )
    account = ExchangeAccount.objects.create(
        name="bench paper",
        exchange="binanceusdm",
        mode=ExchangeAccount.Mode.PAPER,
        paper_starting_balance=Decimal(100_000),
        default_leverage=5,
    )
    trader = Trader.objects.create(name="bench paper", account=account, risk_profile=bench_risk_profile("paper"))
    prices = (Decimal(20_000), Decimal(200), Decimal(400))
    timings = [plan_cycle(trader, i, prices, Decimal("0.1")) for i in range(warmup + plans)][warmup:]
    return {
        "paper_preview": summary([preview for preview, _ in timings]),
        "paper_execute": summary([execute for _, execute in timings]),
    }


def bench_emulator(plans: int, warmup: int) -> dict:
    from apps.exchanges.adapters import factory
    from apps.exchanges.adapters.retry import RetryPolicy
    from apps.exchanges.emulator import testing
    from apps.exchanges.models import ExchangeAccount
    from apps.exchanges.services import exchange_account_create, market_sync_from_exchange
    from apps.traders.models import Trader

    price = Decimal(28_000)
    with testing.running_emulator("binanceusdm", balance=Decimal(1_000_000)) as emu:
        emu.set_price(SYMBOL, price)
        with factory.override_client(
            lambda client: testing.configure_ccxt_client(client, emu),
            enable_rate_limit=False,
            timeout_ms=5000,
            retry=RetryPolicy(attempts=1),
        ):
            account = exchange_account_create(
                name="bench emulator",
                exchange="binanceusdm",
                mode=ExchangeAccount.Mode.TESTNET,
                default_leverage=2,
                secrets={"api_key": emu.api_key, "api_secret": emu.api_secret},
            )
            # The paper stage's market row takes the emulator's rules (it is the same exchange and symbol).
            rules = factory.adapter_for_account(account).rules(SYMBOL)
            market_sync_from_exchange(exchange=account.exchange, rules=rules)
            trader = Trader.objects.create(
                name="bench emulator", account=account, risk_profile=bench_risk_profile("emulator")
            )
            prices = (price, Decimal(1000), Decimal(1000))
            timings = [plan_cycle(trader, i, prices, Decimal("0.01")) for i in range(warmup + plans)][warmup:]
    return {
        "emulator_preview": summary([preview for preview, _ in timings]),
        "emulator_execute": summary([execute for _, execute in timings]),
    }


# --- the table ----------------------------------------------------------------------------------

STAGES = {
    "evaluate": "RiskManager.evaluate (3 positions open)",
    "paper_preview": "paper: trade_plan_preview",
    "paper_execute": "paper: execute -> protection_placed",
    "emulator_preview": "emulator binanceusdm: trade_plan_preview",
    "emulator_execute": "emulator binanceusdm: execute -> protection_placed",
}


def duration(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    return f"{seconds * 1e3:.2f} ms"


def print_table(results: list[tuple[str, dict]]) -> None:
    headers = ("database", "what", "n", "mean", "median", "p99", "per second", "peak RSS")
    rows = [
        (
            name,
            STAGES[stage],
            f"{r['n']:,}",
            duration(r["mean_s"]),
            duration(r["median_s"]),
            duration(r["p99_s"]),
            f"{r['per_s']:,.0f}",
            f"{r['rss_mb']:.0f} MB",
        )
        for name, stages in results
        for stage, r in stages.items()
    ]
    common.print_table(headers, rows, left=(0, 1))


if __name__ == "__main__":
    main()
