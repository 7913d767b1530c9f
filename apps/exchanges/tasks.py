"""django-q2 entry points of the exchanges app."""

from __future__ import annotations

from apps.exchanges.adapters.paper import paper_accounts_process_candles


def process_paper_orders() -> str:
    """Scheduled every minute: check the resting paper orders (limits, stop-losses, take-profits)
    against the candles released since the last run. Idempotent: each candle is processed once."""
    changed = paper_accounts_process_candles()
    return f"{changed} paper orders filled or expired"
