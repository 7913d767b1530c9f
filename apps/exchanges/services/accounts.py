from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.db import transaction

from apps.core.errors import ServiceValidationError
from apps.core.pending import pending_set
from apps.exchanges import hooks
from apps.exchanges.adapters.base import MarketRules, Order
from apps.exchanges.adapters.factory import adapter_for_account
from apps.exchanges.models import ExchangeAccount
from apps.exchanges.selectors import paper_account_open_counts
from apps.market import services as market_services
from apps.market.models import SPOT_EXCHANGES, Market, MarketFeed
from apps.market.selectors import market_get
from apps.secrets.services import (
    UNCHANGED,
    SecretInput,
    secret_fields_delete,
    secret_fields_save,
    secret_will_be_set,
)

# The change request kind of an account going live (apps.traders' ChangeRequest.Kind.ACCOUNT_LIVE).
ACCOUNT_LIVE = "account_live"
EDITABLE_FIELDS = (
    "name",
    "exchange",
    "mode",
    "paper_starting_balance",
    "price_source",
    "default_leverage",
    "margin_mode",
)


def exchange_account_clean(account: ExchangeAccount, secrets: Mapping[str, SecretInput]) -> None:
    """What every write path (these services, the admin form) runs on an account before saving it:
    the model's own clean-up (ExchangeAccount.clean: testnet and live accounts are stored on live
    prices), then the rules that read other rows. Raises ServiceValidationError."""
    account.clean()
    _validate(account, secrets)


def _validate(account: ExchangeAccount, secrets: Mapping[str, SecretInput]) -> None:
    _refuse_price_jump(account)
    if account.exchange in SPOT_EXCHANGES and account.default_leverage != 1:
        raise ServiceValidationError("default_leverage", "spot accounts trade without leverage; use 1")
    if account.mode != ExchangeAccount.Mode.PAPER:
        for field in ("api_key", "api_secret"):
            if not secret_will_be_set(instance=account, field=field, value=secrets.get(field, UNCHANGED)):
                raise ServiceValidationError(field, f"{account.mode} accounts need an API key and secret")
    duplicate = ExchangeAccount.objects.filter(name=account.name).exclude(pk=account.pk).exists()
    if duplicate:
        raise ServiceValidationError("name", f"an exchange account named {account.name!r} already exists")


def _refuse_price_jump(account: ExchangeAccount) -> None:
    """Refuse to move a paper account with open positions or orders to another price feed: its
    entries were priced on one timeline (a replay of 2023, say) and its stops would be checked on
    another (today's exchange prices)."""
    stored = ExchangeAccount.objects.filter(pk=account.pk).first() if account.pk else None
    if stored is None or stored.feed_source == account.feed_source:
        return
    positions, orders = paper_account_open_counts(account=stored)
    if positions or orders:
        field = "price_source" if stored.price_source != account.price_source else "mode"
        raise ServiceValidationError(
            field,
            f"{account.name} has {positions} open position(s) and {orders} open order(s) priced on "
            f"{_prices_name(stored)}: close them before moving it to {_prices_name(account)}, or its prices "
            "would jump between two timelines",
        )


def _prices_name(account: ExchangeAccount) -> str:
    return "replayed prices" if account.feed_source == MarketFeed.Source.REPLAY else "the exchange's live prices"


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
    user: Any = None,
) -> ExchangeAccount:
    """A live account is stored as a testnet account (same keys, the exchange's sandbox) with a request
    to go live that a second admin approves (_hold_going_live)."""
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
    exchange_account_clean(account, secrets)
    going_live = account.mode == ExchangeAccount.Mode.LIVE
    if going_live:
        account.mode = ExchangeAccount.Mode.TESTNET
    account = secret_fields_save(instance=account, values=secrets)
    return _hold_going_live(account, before=ExchangeAccount.Mode.TESTNET, user=user) if going_live else account


@transaction.atomic
def exchange_account_update(
    *,
    account: ExchangeAccount,
    changes: Mapping[str, Any],
    secrets: Mapping[str, SecretInput] | None = None,
    user: Any = None,
    approval: Any = None,
) -> ExchangeAccount:
    """Apply `changes`. Going live waits for a second admin: the rest applies at once, the account keeps
    its mode, and the returned account lists the request (apps.core.pending.pending_of). `approval`: the
    approved request being applied (apps.traders.services.approvals)."""
    account = ExchangeAccount.objects.select_for_update().get(pk=account.pk)
    before = account.mode
    for field, value in changes.items():
        if field not in EDITABLE_FIELDS:
            raise ServiceValidationError(field, "is not an editable field")
        setattr(account, field, value)
    secrets = dict(secrets or {})
    exchange_account_clean(account, secrets)
    going_live = account.mode == ExchangeAccount.Mode.LIVE and before != ExchangeAccount.Mode.LIVE
    if going_live and _approves_going_live(approval, account):
        account._history_user = approval.decided_by  # type: ignore[attr-defined]
        account._change_reason = f"change request #{approval.pk}, approved by {approval.decided_by}"  # type: ignore[attr-defined]
        going_live = False
    if going_live:
        account.mode = before
        exchange_account_clean(account, secrets)
    account = secret_fields_save(instance=account, values=secrets)
    return _hold_going_live(account, before=before, user=user) if going_live else account


def _approves_going_live(approval: Any, account: ExchangeAccount) -> bool:
    if approval is None:
        return False
    if (approval.kind, approval.target_type, approval.target_id, approval.status) != (
        ACCOUNT_LIVE,
        "account",
        account.pk,
        "approved",
    ):
        raise ValueError(f"change request {approval.pk} does not approve {account.name} going live")
    return True


def _hold_going_live(account: ExchangeAccount, *, before: str, user: Any) -> ExchangeAccount:
    """File the account's going live with the approving app (hooks.change_requesters)."""
    requesters = list(hooks.change_requesters)
    if not requesters:
        raise ServiceValidationError(
            "mode", "going live needs a second admin's approval, and no approval app is installed"
        )
    requests = [
        requester(
            target=account,
            kind=ACCOUNT_LIVE,
            before={"mode": before},
            after={"mode": ExchangeAccount.Mode.LIVE},
            user=user,
        )
        for requester in requesters
    ]
    return pending_set(account, requests)


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
