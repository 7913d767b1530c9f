"""The small set of failures callers handle; adapters translate exchange and ccxt errors to
these. Messages never contain keys or signatures."""

from __future__ import annotations


class AdapterError(Exception):
    """Base class. `retryable` says whether repeating the same call is safe and may succeed."""

    retryable = False


class AuthenticationFailed(AdapterError):
    """Bad or missing API key, secret or permissions."""


class InsufficientFunds(AdapterError):
    """Not enough balance or margin for the order."""


class InvalidOrder(AdapterError):
    """The order breaks a rule (precision, minimums, reduce-only, leverage); refused before
    sending when we can tell, or by the exchange."""


class RateLimited(AdapterError):
    retryable = True


class ExchangeUnavailable(AdapterError):
    """Network failure, timeout or a 5xx: the call did not complete."""

    retryable = True


class OrderStateUnknown(AdapterError):
    """An order submission whose outcome is unknown (the request may have reached the exchange).
    Never resubmit blindly: look the order up by its client order id first."""


class OrderNotFound(AdapterError):
    """No order with that id or client order id."""
