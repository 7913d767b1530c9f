"""What the trade services refuse with; tradeops/api.py maps them to 409, 403 and 503."""

from __future__ import annotations


class TradeConflict(Exception):
    """The plan or order is not in a state that allows the request (already executed, expired, owned by a plan)."""


class TradeRefused(Exception):
    """A safeguard refused the request: live trading switched off, the risk gate, a halt."""


class ExchangeUnreachable(Exception):
    """The exchange could not be asked for the prices and balances a preview needs."""
