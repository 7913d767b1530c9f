"""Benchmark the latency of a market order through CcxtAdapter against the exchange emulator on 127.0.0.1.

    .venv/bin/python bench/bench_ccxt.py [--orders 500] [--warmup 20]

For each of binanceusdm and gate: a fresh emulator (in this process, on a free 127.0.0.1 port), the
real ccxt client with its rate limiter off, then `--orders` market orders of 0.01 BTC alternating
open (buy) and reduce-only close (sell), each timed end to end (rounding, the ticker read for the
minimum-notional check, the signed request, parsing). The first `--warmup` orders (connection set-up,
first-call caches) are excluded. The emulator shares this process, so its request handling is part of
the figure; the network is loopback only.

PaperAdapter's orders per second are bench/bench_paper.py's (it needs a migrated database per run).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from bench import common  # noqa: E402 - needs the project root on sys.path

SYMBOL = "BTC/USDT:USDT"
EXCHANGES = ("binanceusdm", "gate")


def run(exchange: str, orders: int, warmup: int) -> dict:
    from apps.exchanges.adapters.base import OrderRequest, OrderType, Side
    from apps.exchanges.adapters.ccxt_adapter import CcxtAdapter
    from apps.exchanges.adapters.retry import RetryPolicy
    from apps.exchanges.emulator import testing

    with testing.running_emulator(exchange, balance=Decimal(10_000_000)) as emu:
        adapter = CcxtAdapter(
            exchange,
            api_key=emu.api_key,
            secret=emu.api_secret,
            enable_rate_limit=False,
            timeout_ms=5000,
            retry=RetryPolicy(attempts=1),
            configure=lambda client: testing.configure_ccxt_client(client, emu),
        )
        adapter.load_markets()
        timings: list[float] = []
        for i in range(warmup + orders):
            side = Side.BUY if i % 2 == 0 else Side.SELL
            request = OrderRequest(
                symbol=SYMBOL,
                side=side,
                type=OrderType.MARKET,
                amount=Decimal("0.01"),
                client_order_id=f"bench-{i}",
                reduce_only=side == Side.SELL,
            )
            started = time.perf_counter()
            adapter.create_order(request)
            elapsed = time.perf_counter() - started
            if i >= warmup:
                timings.append(elapsed)
    timings.sort()
    return {
        "orders": len(timings),
        "median_ms": statistics.median(timings) * 1000,
        "p99_ms": timings[min(len(timings) - 1, int(len(timings) * 0.99))] * 1000,
        "orders_per_s": len(timings) / sum(timings),
    }


def print_table(results: list[tuple[str, dict]]) -> None:
    headers = ("exchange", "orders", "median ms", "p99 ms", "orders/s")
    rows = [
        (name, f"{r['orders']:,}", f"{r['median_ms']:.2f}", f"{r['p99_ms']:.2f}", f"{r['orders_per_s']:,.0f}")
        for name, r in results
    ]
    common.print_table(headers, rows)
    print("\nPaperAdapter: see bench/bench_paper.py")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args()
    print_table([(exchange, run(exchange, args.orders, args.warmup)) for exchange in EXCHANGES])


if __name__ == "__main__":
    main()
