"""Writes of the exchanges app: accounts, market sync and order cancels (accounts.py). Trade plans,
their state machine and reconciliation are the traders app's."""

from apps.exchanges.services.accounts import (
    EDITABLE_FIELDS,
    exchange_account_clean,
    exchange_account_create,
    exchange_account_delete,
    exchange_account_update,
    market_sync_from_exchange,
    order_cancel,
)

__all__ = [
    "EDITABLE_FIELDS",
    "exchange_account_clean",
    "exchange_account_create",
    "exchange_account_delete",
    "exchange_account_update",
    "market_sync_from_exchange",
    "order_cancel",
]
