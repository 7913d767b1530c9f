"""Writes of the exchanges app: accounts (accounts.py), trade plans (plans.py), the execution state
machine (execution.py) and reconciliation with the exchange (reconcile.py)."""

from apps.exchanges.services.accounts import (
    EDITABLE_FIELDS,
    exchange_account_create,
    exchange_account_delete,
    exchange_account_update,
    exchange_account_validate,
    market_sync_from_exchange,
    order_cancel,
)

__all__ = [
    "EDITABLE_FIELDS",
    "exchange_account_create",
    "exchange_account_delete",
    "exchange_account_update",
    "exchange_account_validate",
    "market_sync_from_exchange",
    "order_cancel",
]
