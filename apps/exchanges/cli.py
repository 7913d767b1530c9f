"""What the exchanges app's commands (and the traders' above them) share: accounts and markets by name,
with an error that names what was wrong and what exists instead."""

from __future__ import annotations

from django.core.management.base import CommandError

from apps.exchanges.models import ExchangeAccount
from apps.market.models import Market

NAMES_SHOWN = 10


def account_named(name: str) -> ExchangeAccount:
    account = ExchangeAccount.objects.filter(name=name).first()
    if account is None:
        names = ", ".join(ExchangeAccount.objects.order_by("name").values_list("name", flat=True)[:NAMES_SHOWN])
        raise CommandError(f"no exchange account named {name!r} (known: {names or 'none yet'})")
    return account


def market_named(exchange: str, symbol: str) -> Market:
    """A market TradeOps stores for `exchange`."""
    market = Market.objects.filter(exchange=exchange, symbol=symbol).first()
    if market is None:
        symbols = ", ".join(
            Market.objects.filter(exchange=exchange).order_by("symbol").values_list("symbol", flat=True)[:NAMES_SHOWN]
        )
        raise CommandError(f"{exchange} has no market {symbol!r} in TradeOps (known: {symbols or 'none'})")
    return market
