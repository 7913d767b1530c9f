"""Bounded exponential backoff for calls that are safe to repeat (pure; no Django)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from apps.exchanges.adapters.errors import AdapterError

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4  # total tries, the first included
    base_delay: float = 0.5  # seconds before the second try; doubles after each failure
    max_delay: float = 8.0

    def delays(self) -> list[float]:
        return [min(self.base_delay * 2**i, self.max_delay) for i in range(self.attempts - 1)]


def call_with_retry(call: Callable[[], T], policy: RetryPolicy, *, sleep: Callable[[float], None] = time.sleep) -> T:
    """Run `call`; repeat it after an AdapterError whose `retryable` is set, at most `policy.attempts` times.

    Only for read-only or idempotent calls: an order submission must never come through here."""
    delays = policy.delays()
    for attempt in range(policy.attempts):
        try:
            return call()
        except AdapterError as exc:
            if not exc.retryable or attempt == policy.attempts - 1:
                raise
            sleep(delays[attempt])
    raise AssertionError("unreachable")  # pragma: no cover
