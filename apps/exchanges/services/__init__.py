"""Writes of the exchanges app: accounts, a market's sync and order cancels (accounts.py), the sync of an
exchange's markets (markets.py). Trade plans, their state machine and reconciliation are the traders app's."""

from apps.exchanges.services.accounts import (
    EDITABLE_FIELDS,
    exchange_account_create,
    exchange_account_delete,
    exchange_account_update,
    exchange_account_validate,
    market_sync_from_exchange,
    order_cancel,
)
from apps.exchanges.services.markets import (
    MarketSyncRow,
    SymbolsNotListed,
    SyncOutcome,
    UnknownExchange,
    markets_sync,
)

__all__ = [
    "EDITABLE_FIELDS",
    "exchange_account_create",
    "exchange_account_delete",
    "exchange_account_update",
    "exchange_account_validate",
    "MarketSyncRow",
    "SymbolsNotListed",
    "SyncOutcome",
    "UnknownExchange",
    "market_sync_from_exchange",
    "markets_sync",
    "order_cancel",
]
