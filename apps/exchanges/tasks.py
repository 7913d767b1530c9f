"""django-q2 entry points of the exchanges app."""

from __future__ import annotations

import logging

from apps.exchanges import hooks
from apps.exchanges.adapters import errors
from apps.exchanges.adapters.paper import paper_accounts_process_candles
from apps.exchanges.collect import live_price_exchanges
from apps.exchanges.models import ExchangeAccount
from apps.exchanges.services import SyncOutcome, markets_sync
from apps.market.selectors import market_exchanges

logger = logging.getLogger(__name__)


def process_paper_orders() -> str:
    """Scheduled every minute: check the resting paper orders (limits, stop-losses, take-profits)
    against the candles released since the last run, then tell the hooks' listeners (the traders app
    moves the paper plans they concern on: a filled stop completes its plan at once). Idempotent:
    each candle is processed once."""
    changed = paper_accounts_process_candles()
    accounts = list(ExchangeAccount.objects.filter(mode=ExchangeAccount.Mode.PAPER))
    notes = [listener(accounts) for listener in hooks.paper_orders_processed]
    return "; ".join([f"{changed} paper orders filled or expired", *notes])


def refresh_markets() -> str:
    """Scheduled hourly: bring the stored markets' rules (precision, minimums, maximum leverage) up to date
    on every exchange that has one and that some account needs live prices from (as collection does: an
    offline desk of paper accounts on the replay sends no request), through the pooled public clients,
    which also refreshes the markets the account adapters of this process share. Never raises: a failure
    is logged and the next hour tries again, and one unreachable exchange does not keep the others stale.
    Creates and deactivates nothing."""
    stored = market_exchanges()
    if not stored:
        return "no stored markets"
    exchanges = sorted(set(stored) & live_price_exchanges())
    return "; ".join(_refresh_exchange(exchange) for exchange in exchanges) or "no account needs live prices"


def _refresh_exchange(exchange: str) -> str:
    try:
        rows = markets_sync(exchange=exchange)
    except errors.AdapterError as exc:
        logger.warning("Market rules of %s not refreshed, the exchange is unreachable: %s", exchange, exc)
        return f"{exchange}: unreachable"
    except Exception:
        logger.exception("Market rules of %s not refreshed", exchange)
        return f"{exchange}: failed"
    delisted = [row.symbol for row in rows if row.outcome == SyncOutcome.DELISTED]
    if delisted:
        logger.warning("%s no longer lists %s (left active; sync_markets --deactivate-missing)", exchange, delisted)
    updated = sum(row.outcome == SyncOutcome.UPDATED for row in rows)
    return f"{exchange}: {len(rows)} markets, {updated} updated, {len(delisted)} delisted"
