from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Case, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value, When

from apps.exchanges.adapters.base import Balance, ExchangeAdapter, Order, Position, Ticker
from apps.exchanges.adapters.errors import AdapterError
from apps.exchanges.adapters.factory import adapter_for_account
from apps.exchanges.adapters.paper import paper_order_value
from apps.exchanges.models import Alert, ExchangeAccount, Execution, PaperOrder, PlanEvent, TradePlan
from apps.exchanges.trade_rules import Fill, PlanResult, plan_result
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


# --- trade plans and alerts (the /trade API and pages) -------------------------------------------

PLAN_ORDERINGS = ("-created_at", "created_at", "-updated_at", "updated_at", "status", "-status")


def _plans() -> QuerySet[TradePlan]:
    """Plans with their relations, and `created_market_time`: the replay's market time of the first event."""
    first_event = PlanEvent.objects.filter(plan=OuterRef("pk")).order_by("at", "id").values("market_time")[:1]
    return TradePlan.objects.select_related("trader", "account", "market", "created_by").annotate(
        created_market_time=Subquery(first_event)
    )


def trade_plan_list(
    *,
    status: str | None = None,
    trader_id: int | None = None,
    account_id: int | None = None,
    symbol: str | None = None,
    ordering: str = "-created_at",
) -> QuerySet[TradePlan]:
    """Newest first unless `ordering` (one of PLAN_ORDERINGS) says otherwise; executions prefetched
    for trade_plan_result."""
    plans = _plans().prefetch_related("executions")
    if status:
        plans = plans.filter(status=status)
    if trader_id is not None:
        plans = plans.filter(trader_id=trader_id)
    if account_id is not None:
        plans = plans.filter(account_id=account_id)
    if symbol:
        plans = plans.filter(market__symbol=symbol)
    return plans.order_by(ordering if ordering in PLAN_ORDERINGS else "-created_at", "-id")


def trade_plan_get(*, plan_id: int) -> TradePlan | None:
    """The plan with its executions, timeline (oldest first) and open alerts prefetched."""
    return (
        _plans()
        .prefetch_related(
            Prefetch("executions", queryset=Execution.objects.order_by("created_at", "id")),
            Prefetch("events", queryset=PlanEvent.objects.select_related("actor").order_by("at", "id")),
            Prefetch(
                "alerts",
                queryset=Alert.objects.filter(acknowledged_at__isnull=True).order_by("-created_at", "-id"),
                to_attr="open_alerts",
            ),
        )
        .filter(pk=plan_id)
        .first()
    )


def trade_plan_result(*, plan: TradePlan) -> PlanResult:
    """Realised PnL and fees of the plan from its executions' fills (prefetched by the plan selectors)."""
    fills = [
        Fill(
            leg=execution.leg,
            quantity=execution.filled,
            # The state machine's own fallback: a triggered protective order may report no average.
            price=execution.average_price or execution.price or execution.trigger_price,
            fee=execution.fee,
            fee_currency=execution.fee_currency,
        )
        for execution in plan.executions.all()
    ]
    return plan_result(side=plan.side, base=plan.market.base, quote=plan.market.quote, fills=fills)


def alert_list(*, acknowledged: bool | None = None, plan_id: int | None = None) -> QuerySet[Alert]:
    """Unacknowledged alerts first, then newest first."""
    alerts = Alert.objects.select_related("account", "plan", "acknowledged_by")
    if acknowledged is not None:
        alerts = alerts.filter(acknowledged_at__isnull=not acknowledged)
    if plan_id is not None:
        alerts = alerts.filter(plan_id=plan_id)
    open_first = Case(When(acknowledged_at__isnull=True, then=Value(0)), default=Value(1), output_field=IntegerField())
    return alerts.order_by(open_first, "-created_at", "-id")


def alert_get(*, alert_id: int) -> Alert | None:
    return Alert.objects.select_related("account", "plan", "acknowledged_by").filter(pk=alert_id).first()


def account_markets(*, account: ExchangeAccount) -> dict[str, Market]:
    """The account's exchange's markets by symbol, for showing its prices and amounts at their tick and step."""
    return {market.symbol: market for market in Market.objects.filter(exchange=account.exchange)}


def trade_markets(*, account: ExchangeAccount) -> QuerySet[Market]:
    """The active markets a trader on `account` can be given a plan for."""
    return Market.objects.filter(exchange=account.exchange, active=True).order_by("symbol")


def market_ticker(*, account: ExchangeAccount, symbol: str) -> Ticker:
    """The last price of `symbol` as the account's exchange (or the paper replay) sees it. Raises AdapterError."""
    return adapter_for_account(account).fetch_ticker(symbol)
