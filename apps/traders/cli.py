"""What the traders app's commands (orders, positions, traders, trader_run) and trader_dry_run share:
the services' refusals as command errors, the trader an order goes through, and rows for people
(prices at the market's tick, amounts at its step, money at two decimals: apps.core.numbers)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.management.base import CommandError

from apps.core.errors import ServiceValidationError
from apps.core.numbers import at_increment, indicator, money, to_decimal
from apps.exchanges.adapters.base import Order, Position
from apps.exchanges.adapters.errors import AdapterError
from apps.exchanges.hooks import OrderCancelRefused
from apps.exchanges.models import ExchangeAccount
from apps.market.candles_io import ms_to_datetime
from apps.market.models import Market
from apps.traders.models import Trader
from apps.traders.services.errors import ExchangeUnreachable, TradeConflict, TradeRefused

TIME_FORMAT = "%Y-%m-%d %H:%M"
MISSING = "missing"
# The services name the field they refuse; the commands' users typed an option.
OPTIONS = {
    "trader_id": "--trader",
    "trader": "--trader",
    "symbol": "--symbol",
    "side": "--side",
    "order_type": "--type",
    "quantity": "--amount",
    "entry_price": "--price",
    "stop_loss": "--sl",
    "take_profit": "--tp",
    "leverage": "--leverage",
    "confirmation": "--confirm",
}


@contextmanager
def refusals() -> Iterator[None]:
    """A service's refusal as a CommandError (exit 1) naming what was wrong."""
    try:
        yield
    except ServiceValidationError as exc:
        raise CommandError(f"{OPTIONS.get(exc.field, exc.field)}: {exc.message}") from None
    except (TradeConflict, TradeRefused, ExchangeUnreachable, OrderCancelRefused) as exc:
        raise CommandError(str(exc)) from None
    except AdapterError as exc:
        raise CommandError(f"{type(exc).__name__}: {exc}") from None


def trader_for(account: ExchangeAccount, name: str | None) -> Trader:
    """The trader an operator's order goes through (its risk profile gates it): the one named, or the
    account's only trader."""
    traders = Trader.objects.filter(account=account).select_related("account", "risk_profile").order_by("name")
    if name:
        trader = traders.filter(name=name).first()
        if trader is None:
            raise CommandError(f"--trader: {account.name} has no trader named {name!r}")
        return trader
    found = list(traders[:10])
    if len(found) == 1:
        return found[0]
    if not found:
        raise CommandError(f"{account.name} has no trader: orders go through a trader's risk profile, create one first")
    names = ", ".join(trader.name for trader in found)
    raise CommandError(f"{account.name} has several traders ({names}): name one with --trader")


# --- rows for people --------------------------------------------------------------------------------------


def price(value: Any, market: Market | None) -> str:
    return "-" if value is None else at_increment(value, market.price_precision if market else None)


def amount(value: Any, market: Market | None) -> str:
    return "-" if value is None else at_increment(value, market.amount_precision if market else None)


def order_row(order: Order, market: Market | None) -> dict[str, str]:
    return {
        "id": order.id,
        "client id": order.client_order_id or "-",
        "symbol": order.symbol,
        "side": str(order.side),
        "type": order.type,
        "status": str(order.status),
        "amount": amount(order.amount, market),
        "filled": amount(order.filled, market),
        "price": price(order.price, market),
        "trigger": price(order.trigger_price, market),
        "average": price(order.average_price, market),
        "placed (UTC)": f"{ms_to_datetime(order.timestamp):%Y-%m-%d %H:%M:%S}" if order.timestamp else "-",
    }


def position_row(position: Position, market: Market | None) -> dict[str, str]:
    return {
        "symbol": position.symbol,
        "side": str(position.side),
        "amount": amount(position.amount, market),
        "entry": price(position.entry_price, market),
        "mark": price(position.mark_price, market),
        "unrealised pnl": money(position.unrealized_pnl),
        "leverage": f"{position.leverage}x" if position.leverage else "-",
        "liquidation": price(position.liquidation_price, market),
    }


def decision_row(
    *,
    candle_open: datetime,
    close: Any | None,
    tick: Decimal | None,
    indicators: Mapping[str, float | None],
    sentiment: float | None,
    signal: str | None,
    action: str,
    outcome: str,
    reason: str,
) -> dict[str, str]:
    """One decision as the dry run and `trader_run` print it: the price at the tick, each indicator the
    rule reads at two decimals ('missing' without a value), the decision, its outcome and reason."""
    return {
        "time": f"{candle_open:{TIME_FORMAT}}",
        "price": "-" if close is None else at_increment(close, tick),
        **{name: MISSING if to_decimal(value) is None else indicator(value) for name, value in indicators.items()},
        "sentiment": MISSING if to_decimal(sentiment) is None else indicator(sentiment),
        "signal": signal or "-",
        "decision": action,
        "outcome": outcome,
        "reason": reason,
    }
