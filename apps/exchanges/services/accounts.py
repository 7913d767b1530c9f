from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.db import transaction

from apps.core.errors import ServiceValidationError
from apps.exchanges import hooks
from apps.exchanges.adapters.base import MarketRules, Order
from apps.exchanges.adapters.factory import adapter_for_account
from apps.exchanges.models import ExchangeAccount
from apps.market import services as market_services
from apps.market.models import SPOT_EXCHANGES, Market
from apps.market.selectors import market_get
from apps.secrets.services import (
    UNCHANGED,
    SecretInput,
    secret_fields_delete,
    secret_fields_save,
    secret_will_be_set,
)

EDITABLE_FIELDS = (
    "name",
    "exchange",
    "mode",
    "paper_starting_balance",
    "price_source",
    "default_leverage",
    "margin_mode",
)


def exchange_account_validate(account: ExchangeAccount, secrets: Mapping[str, SecretInput]) -> None:
    if account.exchange in SPOT_EXCHANGES and account.default_leverage != 1:
        raise ServiceValidationError("default_leverage", "spot accounts trade without leverage; use 1")
    if account.mode != ExchangeAccount.Mode.PAPER:
        for field in ("api_key", "api_secret"):
            if not secret_will_be_set(instance=account, field=field, value=secrets.get(field, UNCHANGED)):
                raise ServiceValidationError(field, f"{account.mode} accounts need an API key and secret")
    duplicate = ExchangeAccount.objects.filter(name=account.name).exclude(pk=account.pk).exists()
    if duplicate:
        raise ServiceValidationError("name", f"an exchange account named {account.name!r} already exists")


@transaction.atomic
def exchange_account_create(
    *,
    name: str,
    exchange: str,
    mode: str = ExchangeAccount.Mode.PAPER,
    paper_starting_balance: Decimal = Decimal("10000"),
    price_source: str = ExchangeAccount.PriceSource.REPLAY,
    default_leverage: int = 1,
    margin_mode: str = ExchangeAccount.MarginMode.ISOLATED,
    secrets: Mapping[str, SecretInput] | None = None,
) -> ExchangeAccount:
    account = ExchangeAccount(
        name=name,
        exchange=exchange,
        mode=mode,
        paper_starting_balance=paper_starting_balance,
        price_source=price_source,
        default_leverage=default_leverage,
        margin_mode=margin_mode,
    )
    secrets = dict(secrets or {})
    exchange_account_validate(account, secrets)
    return secret_fields_save(instance=account, values=secrets)


@transaction.atomic
def exchange_account_update(
    *, account: ExchangeAccount, changes: Mapping[str, Any], secrets: Mapping[str, SecretInput] | None = None
) -> ExchangeAccount:
    account = ExchangeAccount.objects.select_for_update().get(pk=account.pk)
    for field, value in changes.items():
        if field not in EDITABLE_FIELDS:
            raise ServiceValidationError(field, "is not an editable field")
        setattr(account, field, value)
    secrets = dict(secrets or {})
    exchange_account_validate(account, secrets)
    return secret_fields_save(instance=account, values=secrets)


@transaction.atomic
def exchange_account_delete(*, account: ExchangeAccount) -> None:
    secret_fields_delete(instance=account, fields=ExchangeAccount.SECRET_FIELDS)


def market_rules_values(rules: MarketRules) -> dict[str, Any]:
    """The Market fields that follow the exchange's rules (precision, minimums, maximum leverage)."""
    return {
        "price_precision": rules.tick,
        "amount_precision": rules.step,
        "min_amount": rules.min_amount,
        "min_notional": rules.min_notional,
        "max_leverage": rules.max_leverage,
    }


def market_rules_changes(market: Market, rules: MarketRules) -> dict[str, Any]:
    """The fields of `market` that differ from the exchange's `rules` (empty when it is up to date)."""
    return {field: value for field, value in market_rules_values(rules).items() if getattr(market, field) != value}


@transaction.atomic
def market_sync_from_exchange(*, exchange: str, rules: MarketRules) -> Market:
    """Create the Market for `rules` (from an adapter's load_markets), or update its precision and minimums."""
    market = market_get(exchange=exchange, symbol=rules.symbol)
    if market is None:
        return market_services.market_create(
            exchange=exchange,
            symbol=rules.symbol,
            base=rules.base,
            quote=rules.quote,
            type=rules.type,
            **market_rules_values(rules),
        )
    changed = market_rules_changes(market, rules)
    return market_services.market_update(market=market, changes=changed) if changed else market


def order_cancel(*, account: ExchangeAccount, order: Order) -> Order:
    """Cancel one open order through the account's adapter, the one path by which pages and the API
    cancel orders. Not wrapped in a transaction: the exchange call must not hold a database
    transaction open, and PaperAdapter takes its own lock. Raises AdapterError subclasses, and
    OrderCancelRefused when a guard (hooks.order_cancel_guards) refuses: the traders app does for an
    order of an open trade plan, since cancelling its stop here would leave the position
    unprotected until reconciliation put the stop back."""
    for guard in hooks.order_cancel_guards:
        guard(account, order)
    return adapter_for_account(account).cancel_order(order.symbol, order_id=order.id, protective=order.protective)
