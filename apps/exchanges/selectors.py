from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, QuerySet

from apps.exchanges.adapters.base import Balance, ExchangeAdapter, Order, Position
from apps.exchanges.adapters.errors import AdapterError
from apps.exchanges.adapters.factory import adapter_for_account
from apps.exchanges.adapters.paper import paper_order_value
from apps.exchanges.models import ExchangeAccount, PaperOrder, PaperPosition
from apps.market.models import SPOT_EXCHANGES, Market

ORDERINGS = ("name", "-name", "exchange", "-exchange", "mode", "-mode", "created_at", "-created_at")


def exchange_account_list(
    *, exchange: str | None = None, mode: str | None = None, search: str | None = None, ordering: str = "name"
) -> QuerySet[ExchangeAccount]:
    accounts = ExchangeAccount.objects.select_related("api_key", "api_secret", "passphrase")
    if exchange:
        accounts = accounts.filter(exchange=exchange)
    if mode:
        accounts = accounts.filter(mode=mode)
    if search:
        accounts = accounts.filter(name__icontains=search)
    return accounts.order_by(ordering if ordering in ORDERINGS else "name")


def paper_account_open_counts(*, account: ExchangeAccount) -> tuple[int, int]:
    """A paper account's open positions and open orders, from its stored paper state (no prices needed)."""
    positions = PaperPosition.objects.filter(account=account, amount__gt=0).count()
    orders = PaperOrder.objects.filter(account=account, status=PaperOrder.Status.OPEN).count()
    return positions, orders


# --- trading reads through the adapters (balances, positions, orders) -----------------------------
# Every function here may raise apps.exchanges.adapters.errors.AdapterError: callers (views, API)
# turn it into a message or a 502/503, because an exchange being down is not a bug of ours.


@dataclass(frozen=True)
class AccountPosition:
    account: ExchangeAccount
    position: Position


@dataclass(frozen=True)
class AccountError:
    account: ExchangeAccount
    error: AdapterError


class OrderSequence(Sequence[Order]):
    """A lazily converted, sliceable list of a paper account's orders, so that Django's Paginator
    and ninja's LimitOffsetPagination count and slice in the database instead of loading all rows."""

    def __init__(self, rows: QuerySet[PaperOrder]):
        self.rows = rows

    def __len__(self) -> int:
        return self.rows.count()

    def count(self) -> int:  # type: ignore[override]  # Paginator prefers count() over len()
        return len(self)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [paper_order_value(row) for row in self.rows[index]]
        return paper_order_value(self.rows[index])


def exchange_account_get(*, account_id: int) -> ExchangeAccount | None:
    return ExchangeAccount.objects.filter(pk=account_id).first()


def account_balance(*, account: ExchangeAccount) -> list[Balance]:
    return adapter_for_account(account).fetch_balance()


def account_positions(*, account: ExchangeAccount, symbol: str | None = None) -> list[Position]:
    return adapter_for_account(account).fetch_positions([symbol] if symbol else None)


def positions_all_accounts(*, symbol: str | None = None) -> tuple[list[AccountPosition], list[AccountError]]:
    """Positions of every account; an account whose exchange fails is reported, not fatal to the list."""
    found: list[AccountPosition] = []
    failed: list[AccountError] = []
    for account in ExchangeAccount.objects.order_by("name"):
        try:
            positions = account_positions(account=account, symbol=symbol)
        except AdapterError as exc:
            failed.append(AccountError(account=account, error=exc))
            continue
        found.extend(AccountPosition(account=account, position=position) for position in positions)
    return found, failed


def account_orders(
    *,
    account: ExchangeAccount,
    symbol: str | None = None,
    status: str | None = None,
    protective: bool | None = None,
) -> Sequence[Order]:
    """Newest first. Paper accounts: every PaperOrder (any status). Exchange accounts: the open orders
    the exchange reports; their history needs the Execution records (the trade state machine's issue)."""
    if account.mode == ExchangeAccount.Mode.PAPER:
        rows = PaperOrder.objects.filter(account=account).select_related("market")
        if symbol:
            rows = rows.filter(market__symbol=symbol)
        if status:
            rows = rows.filter(status=status)
        if protective is not None:
            kinds = Q(type__in=PaperOrder.PROTECTIVE_TYPES)
            rows = rows.filter(kinds) if protective else rows.exclude(kinds)
        return OrderSequence(rows.order_by("-created_at", "-id"))
    orders = adapter_for_account(account).fetch_open_orders(symbol or None)
    if status:
        orders = [order for order in orders if order.status == status]
    if protective is not None:
        orders = [order for order in orders if order.protective == protective]
    return sorted(orders, key=lambda order: (order.timestamp, order.id), reverse=True)


def account_order_find(*, account: ExchangeAccount, order_id: str) -> Order | None:
    """The order with this exchange id (paper: PaperOrder pk), or None. Exchange accounts: open orders only."""
    if account.mode == ExchangeAccount.Mode.PAPER:
        if not order_id.isdigit():
            return None
        row = PaperOrder.objects.filter(account=account, pk=int(order_id)).select_related("market").first()
        return paper_order_value(row) if row else None
    return next((order for order in adapter_for_account(account).fetch_open_orders() if order.id == order_id), None)


@dataclass(frozen=True)
class Exposure:
    """An account's equity in its quote currency, its free margin and each position's notional."""

    equity: Decimal
    free_margin: Decimal
    positions: tuple[tuple[str, str, Decimal], ...]  # (symbol, base asset, notional)


def account_exposure(*, adapter: ExchangeAdapter, exchange: str, quote: str = "USDT") -> Exposure:
    """Equity = the quote balance plus unrealised PnL (futures) or plus holdings at the last price
    (spot, for the markets TradeOps knows). Raises AdapterError."""
    balances = {balance.currency: balance for balance in adapter.fetch_balance()}
    cash = balances.get(quote)
    equity = cash.total if cash else Decimal(0)
    positions: list[tuple[str, str, Decimal]] = []
    if exchange in SPOT_EXCHANGES:
        for market in Market.objects.filter(exchange=exchange, quote=quote, active=True):
            held = balances.get(market.base)
            if held is not None and held.total > 0:
                value = held.total * adapter.fetch_ticker(market.symbol).last
                equity += value
                positions.append((market.symbol, market.base, value))
    else:
        for position in adapter.fetch_positions():
            price = position.mark_price or position.entry_price
            positions.append((position.symbol, position.symbol.split("/")[0], position.amount * price))
            if not adapter.balance_includes_unrealized:
                equity += position.unrealized_pnl
    return Exposure(equity=equity, free_margin=cash.free if cash else Decimal(0), positions=tuple(positions))


def account_markets(*, account: ExchangeAccount) -> dict[str, Market]:
    """The account's exchange's markets by symbol, for showing its prices and amounts at their tick and step."""
    return {market.symbol: market for market in Market.objects.filter(exchange=account.exchange)}
