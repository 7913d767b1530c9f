"""Benchmark orders per second through PaperAdapter (market orders that open and close a position).

    .venv/bin/python bench/bench_paper.py [--orders 2000] [--database-url postgres://postgres@127.0.0.1:5432/x]

Each database runs in its own child process on a fresh, migrated database: a throwaway SQLite
file, and, when a PostgreSQL URL is given (the flag or DATABASE_URL), a throwaway
`tradeops_bench_paper` database on that server (bench_import_candles' helper), dropped at the end.
Each order is one transaction (lock the account state, read the price, check margin, fill);
"candles/s" times PaperAdapter.process_candle with a stop and a target resting that never trigger.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

# The import benchmark's throwaway-PostgreSQL helper, on a database name of our own.
import bench.bench_import_candles as import_bench  # noqa: E402 - needs the project root on sys.path
from bench import common  # noqa: E402 - needs the project root on sys.path

BENCH_DATABASE = "tradeops_bench_paper"
import_bench.BENCH_DATABASE = BENCH_DATABASE
ORDERS = 2000
CANDLES = 2000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""), help="a PostgreSQL server")
    parser.add_argument("--orders", type=int, default=ORDERS)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_orders(args.orders)))
        return
    with tempfile.TemporaryDirectory(prefix="tradeops-bench-") as tmp:
        results = [("SQLite", run_child(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", args.orders))]
        if args.database_url.startswith(("postgres://", "postgresql://")):
            with import_bench.throwaway_postgres(args.database_url) as url:
                results.append(("PostgreSQL", run_child(url, args.orders)))
        else:
            print("PostgreSQL skipped: pass --database-url postgres://... or set DATABASE_URL")
    print_table(results)


def run_child(database_url: str, orders: int) -> dict:
    return common.json_from_child(
        [__file__, "--child", "--orders", str(orders)],
        database_url=database_url,
        what=f"benchmark child on {database_url}",
    )


def run_orders(orders: int) -> dict:
    """In the child: migrate, store flat 1m candles, then time market orders and candle processing."""
    from cryptography.fernet import Fernet

    # Like tradeops/settings_test.py: throwaway keys, so the bench never needs the developer's .env.
    os.environ.setdefault(
        "DJANGO_SECRET_KEY", "bench-" + Fernet.generate_key().decode() + Fernet.generate_key().decode()
    )
    os.environ.setdefault("FIELD_ENCRYPTION_KEY", Fernet.generate_key().decode())
    os.environ["DJANGO_SETTINGS_MODULE"] = "tradeops.settings"
    import django

    django.setup()
    from decimal import Decimal

    import numpy as np
    from django.core.management import call_command

    from apps.exchanges.adapters import paper_engine as engine
    from apps.exchanges.adapters.base import OrderRequest, OrderType, ProtectionKind, ProtectiveOrderRequest, Side
    from apps.exchanges.adapters.paper import PaperAdapter
    from apps.exchanges.models import ExchangeAccount
    from apps.market.candles_io import CandleSeries, ms_to_datetime
    from apps.market.models import MarketFeed
    from apps.market.services import candle_series_import, market_create

    call_command("migrate", verbosity=0)
    symbol = "BTC/USDT:USDT"
    market = market_create(
        exchange="binanceusdm",
        symbol=symbol,
        base="BTC",
        quote="USDT",
        type="swap",
        price_precision=Decimal("0.1"),
        amount_precision=Decimal("0.001"),
        min_amount=Decimal("0.001"),
        min_notional=Decimal("5"),
    )
    start = 1_672_531_200_000  # 2023-01-01
    times = start + np.arange(CANDLES + 1, dtype=np.int64) * 60_000
    ohlcv = np.tile([20_000.0, 20_010.0, 19_990.0, 20_000.0, 1.0], (CANDLES + 1, 1))
    candle_series_import(
        market=market, timeframe="1m", series=CandleSeries(open_time_ms=times, ohlcv=ohlcv, format="bench"), source="b"
    )
    # The paper exchange prices only what a replay feed has released: release the first candle.
    MarketFeed.objects.create(
        market=market, timeframe="1m", source=MarketFeed.Source.REPLAY, horizon=ms_to_datetime(int(times[0]))
    )
    account = ExchangeAccount.objects.create(
        name="bench", exchange="binanceusdm", mode="paper", paper_starting_balance=Decimal(1_000_000)
    )
    adapter = PaperAdapter(account)

    started = time.perf_counter()
    for i in range(orders):
        side = Side.BUY if i % 2 == 0 else Side.SELL
        adapter.create_order(
            OrderRequest(
                symbol=symbol,
                side=side,
                type=OrderType.MARKET,
                amount=Decimal("0.01"),
                client_order_id=f"bench-{i}",
                reduce_only=side == Side.SELL,
            )
        )
    order_seconds = time.perf_counter() - started

    adapter.create_order(
        OrderRequest(symbol=symbol, side=Side.BUY, type=OrderType.MARKET, amount=Decimal("0.01"), client_order_id="o")
    )
    for kind, level in ((ProtectionKind.STOP_LOSS, "10000"), (ProtectionKind.TAKE_PROFIT, "30000")):
        adapter.create_protective_order(
            ProtectiveOrderRequest(
                symbol=symbol,
                side=Side.SELL,
                kind=kind,
                amount=Decimal("0.01"),
                trigger_price=Decimal(level),
                client_order_id=kind,
            )
        )
    bars = [engine.Bar(int(t), *(Decimal("20000"),) * 4) for t in times[1:]]
    started = time.perf_counter()
    for bar in bars:
        adapter.process_candle(symbol, bar)
    candle_seconds = time.perf_counter() - started
    return {"orders": orders, "order_seconds": order_seconds, "candles": len(bars), "candle_seconds": candle_seconds}


def print_table(results: list[tuple[str, dict]]) -> None:
    headers = ("database", "orders", "seconds", "orders/s", "ms/order", "candles", "candles/s")
    rows = [
        (
            name,
            f"{r['orders']:,}",
            f"{r['order_seconds']:.2f}",
            f"{r['orders'] / r['order_seconds']:,.0f}",
            f"{r['order_seconds'] / r['orders'] * 1000:.2f}",
            f"{r['candles']:,}",
            f"{r['candles'] / r['candle_seconds']:,.0f}",
        )
        for name, r in results
    ]
    common.print_table(headers, rows)


if __name__ == "__main__":
    main()
