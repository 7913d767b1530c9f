"""django-q2 entry points of the exchanges app."""

from __future__ import annotations

from apps.exchanges import hooks
from apps.exchanges.adapters.paper import paper_accounts_process_candles
from apps.exchanges.models import ExchangeAccount


def process_paper_orders() -> str:
    """Scheduled every minute: check the resting paper orders (limits, stop-losses, take-profits)
    against the candles released since the last run, then tell the hooks' listeners (the traders app
    moves the paper plans they concern on: a filled stop completes its plan at once). Idempotent:
    each candle is processed once."""
    changed = paper_accounts_process_candles()
    accounts = list(ExchangeAccount.objects.filter(mode=ExchangeAccount.Mode.PAPER))
    notes = [listener(accounts) for listener in hooks.paper_orders_processed]
    return "; ".join([f"{changed} paper orders filled or expired", *notes])
