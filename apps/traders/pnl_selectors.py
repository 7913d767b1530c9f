"""The desk's PnL: per trader, per exchange account, or the whole desk (neither given).

From TradeOps' own books, the same for paper, testnet and live accounts (no exchange call, so a
fill's snapshot can be taken anywhere):

- realised   = gross PnL of the closed quantities: each closing fill (exit, stop-loss, take-profit)
               against the plan's volume-weighted entry price, before fees;
- fees       = every fee of every execution, in the quote currency (apps.traders.trade_rules.plan_result);
- unrealised = the open quantity of each plan holding a position, at the mark price, against its
               entry (the paper exchange's mark for a paper account; else the live last price, else the
               newest stored close; no price at all counts 0);
- net        = realised + unrealised - fees;
- balance    = the account's starting balance + realised - fees (a trader: its account's starting
               balance, as if it traded the account alone; the desk: every account's);
- equity     = balance + unrealised.

A fill counts at its execution's last save (when its order filled or ended). A closed trade (for
win rate and profit factor) is a finished plan whose whole position was closed; its PnL is after
fees and it counts when its last closing fill happened. Drawdown and the trade statistics come
from apps.core.metrics, the functions the backtests use.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db.models import QuerySet
from django.utils import timezone

from apps.core import metrics
from apps.exchanges.adapters import paper_engine
from apps.exchanges.adapters.errors import AdapterError
from apps.exchanges.adapters.paper import PaperAdapter
from apps.exchanges.models import ExchangeAccount
from apps.market.models import Candle, Market
from apps.market.selectors import market_last_price
from apps.traders.models import TERMINAL_PLAN_STATUSES, EquitySnapshot, TradePlan, Trader
from apps.traders.selectors import POSITION_PLAN_STATUSES, trade_plan_fills
from apps.traders.trade_rules import Fill, plan_result

ZERO = Decimal(0)
INTERVALS: dict[str, timedelta] = {
    "1m": timedelta(minutes=1),
    "5m": timedelta(minutes=5),
    "15m": timedelta(minutes=15),
    "1h": timedelta(hours=1),
    "1d": timedelta(days=1),
}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class PnlToday:
    """Since the UTC day began: realised and fees of today's fills, unrealised of the positions open now."""

    realised: Decimal
    unrealised: Decimal
    fees: Decimal
    net: Decimal
    equity: Decimal


@dataclass(frozen=True)
class EquityPoint:
    time: datetime
    equity: Decimal
    drawdown: float  # from the highest equity earlier in the same series, <= 0


@dataclass(frozen=True)
class PnlSummary:
    realised: Decimal
    unrealised: Decimal
    fees: Decimal
    net: Decimal
    max_drawdown: float
    win_rate: float | None
    profit_factor: float | None
    trade_count: int


@dataclass(frozen=True)
class Books:
    """A scope's figures: realised and fees of the fills in a period, unrealised and equity now."""

    realised: Decimal
    fees: Decimal
    unrealised: Decimal
    balance: Decimal
    closed_trades: tuple[Decimal, ...]  # after fees, of the trades closed in the period

    @property
    def equity(self) -> Decimal:
        return self.balance + self.unrealised

    @property
    def net(self) -> Decimal:
        return self.realised + self.unrealised - self.fees


def utc_day_start(now: datetime) -> datetime:
    return datetime.combine(now.astimezone(UTC).date(), datetime.min.time(), tzinfo=UTC)


def _check_scope(trader_id: int | None, account_id: int | None) -> None:
    if trader_id is not None and account_id is not None:
        raise ValueError("give a trader or an account, not both")


def _plans(trader_id: int | None, account_id: int | None) -> QuerySet[TradePlan]:
    plans = TradePlan.objects.filter(executions__filled__gt=0).distinct()
    if trader_id is not None:
        plans = plans.filter(trader_id=trader_id)
    if account_id is not None:
        plans = plans.filter(account_id=account_id)
    return plans.select_related("market", "account").prefetch_related("executions")


def _starting_balance(trader_id: int | None, account_id: int | None) -> Decimal:
    if trader_id is not None:
        account = Trader.objects.filter(pk=trader_id).values_list("account__paper_starting_balance", flat=True)
        return account.first() or ZERO
    accounts = ExchangeAccount.objects.all() if account_id is None else ExchangeAccount.objects.filter(pk=account_id)
    return sum(accounts.values_list("paper_starting_balance", flat=True), ZERO)


class _Marks:
    """Mark prices by (account, market), each looked up once per computation."""

    def __init__(self) -> None:
        self._prices: dict[tuple[int, int], Decimal | None] = {}

    def get(self, account: ExchangeAccount, market: Market) -> Decimal | None:
        key = (account.pk, market.pk)
        if key not in self._prices:
            self._prices[key] = self._lookup(account, market)
        return self._prices[key]

    @staticmethod
    def _lookup(account: ExchangeAccount, market: Market) -> Decimal | None:
        if account.mode == ExchangeAccount.Mode.PAPER:
            try:
                return PaperAdapter(account).mark_price(market.symbol)
            except AdapterError:
                return None
        last = market_last_price(market=market)
        if last is not None:
            return last[0]
        return Candle.objects.filter(market=market).order_by("-open_time").values_list("close", flat=True).first()


def _within(fill: Fill, start: datetime | None, end: datetime | None) -> bool:
    return fill.time is not None and (start is None or fill.time >= start) and (end is None or fill.time < end)


def _unrealised(plan: TradePlan, fills: list[Fill], mark: Decimal | None) -> Decimal:
    entries = [fill for fill in fills if fill.leg == "entry" and fill.quantity > 0 and fill.price is not None]
    closed = sum((fill.quantity for fill in fills if fill.leg != "entry" and fill.price is not None), ZERO)
    bought = sum((fill.quantity for fill in entries), ZERO)
    if mark is None or bought <= closed:
        return ZERO
    average = sum((fill.quantity * fill.price for fill in entries), ZERO) / bought  # type: ignore[operator]
    return paper_engine.sign(plan.side) * (bought - closed) * (mark - average)


def books(
    *, trader_id: int | None = None, account_id: int | None = None, start: datetime | None, end: datetime | None
) -> Books:
    """The scope's realised PnL and fees of the fills in [start, end) (None: unbounded), the trades closed
    in it, its unrealised PnL now and its balance now."""
    _check_scope(trader_id, account_id)
    marks = _Marks()
    realised = fees = unrealised = realised_all = fees_all = ZERO
    closed_trades: list[Decimal] = []
    for plan in _plans(trader_id, account_id):
        fills = trade_plan_fills(plan=plan)
        terms = {"side": plan.side, "base": plan.market.base, "quote": plan.market.quote}
        entries = [fill for fill in fills if fill.leg == "entry"]
        period = [fill for fill in fills if _within(fill, start, end)]
        realised += plan_result(**terms, fills=entries + [f for f in period if f.leg != "entry"]).gross_pnl or ZERO
        fees += plan_result(**terms, fills=period).fees
        whole = plan_result(**terms, fills=fills)
        realised_all += whole.gross_pnl or ZERO
        fees_all += whole.fees
        if plan.status in POSITION_PLAN_STATUSES:
            unrealised += _unrealised(plan, fills, marks.get(plan.account, plan.market))
        closing = [fill.time for fill in fills if fill.leg != "entry" and fill.quantity > 0 and fill.time]
        if (
            plan.status in TERMINAL_PLAN_STATUSES
            and whole.realised_pnl is not None
            and whole.closed_quantity >= whole.entry_quantity
            and closing
            and (start is None or max(closing) >= start)
            and (end is None or max(closing) < end)
        ):
            closed_trades.append(whole.realised_pnl)
    balance = _starting_balance(trader_id, account_id) + realised_all - fees_all
    return Books(realised, fees, unrealised, balance, tuple(closed_trades))


def pnl_today(*, trader_id: int | None = None, account_id: int | None = None) -> PnlToday:
    figures = books(trader_id=trader_id, account_id=account_id, start=utc_day_start(timezone.now()), end=None)
    return PnlToday(figures.realised, figures.unrealised, figures.fees, figures.net, figures.equity)


def _snapshots(trader_id: int | None, account_id: int | None) -> QuerySet[EquitySnapshot]:
    if trader_id is not None:
        return EquitySnapshot.objects.filter(trader_id=trader_id)
    rows = EquitySnapshot.objects.filter(trader__isnull=True)
    return rows if account_id is None else rows.filter(account_id=account_id)


def _bucketed(rows: Iterable[tuple[int, datetime, Decimal]], step: timedelta | None) -> list[tuple[datetime, Decimal]]:
    """Time-ordered (account, time, equity) rows to one point per bucket of `step` (None: per row): at the
    bucket's start, the sum over accounts of each one's latest equity so far (the desk is several accounts)."""
    latest: dict[int, Decimal] = {}
    points: list[tuple[datetime, Decimal]] = []
    for account_id, moment, equity in rows:
        latest[account_id] = equity
        at = moment if step is None else EPOCH + (moment - EPOCH) // step * step
        total = sum(latest.values(), ZERO)
        if points and points[-1][0] == at:
            points[-1] = (at, total)
        else:
            points.append((at, total))
    return points


def equity_series(
    *,
    trader_id: int | None = None,
    account_id: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    interval: str | None = "5m",
) -> list[EquityPoint]:
    """The snapshots in [start, end] (start None: since the UTC day began), the last one of each interval
    (None: every snapshot), oldest first; drawdown from the highest equity earlier in the series."""
    _check_scope(trader_id, account_id)
    if interval is not None and interval not in INTERVALS:
        raise ValueError(f"interval must be one of {', '.join(INTERVALS)}")
    start = start if start is not None else utc_day_start(timezone.now())
    rows = _snapshots(trader_id, account_id).filter(time__gte=start)
    if end is not None:
        rows = rows.filter(time__lte=end)
    ordered = rows.order_by("time", "id").values_list("account_id", "time", "equity")
    points = _bucketed(ordered.iterator(), INTERVALS[interval] if interval else None)
    drawdowns = metrics.drawdown([equity for _time, equity in points])
    return [EquityPoint(time, equity, float(dd)) for (time, equity), dd in zip(points, drawdowns, strict=True)]


def pnl_summary(
    *,
    trader_id: int | None = None,
    account_id: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> PnlSummary:
    """Over [start, end) (None: unbounded): realised PnL and fees of the fills, unrealised PnL of the positions
    open now, the max drawdown of the equity snapshots, and win rate, profit factor and count of the trades
    closed in the range."""
    figures = books(trader_id=trader_id, account_id=account_id, start=start, end=end)
    curve = equity_series(trader_id=trader_id, account_id=account_id, start=start or EPOCH, end=end, interval=None)
    return PnlSummary(
        realised=figures.realised,
        unrealised=figures.unrealised,
        fees=figures.fees,
        net=figures.net,
        max_drawdown=metrics.max_drawdown([point.equity for point in curve]),
        win_rate=metrics.win_rate(figures.closed_trades),
        profit_factor=metrics.profit_factor(figures.closed_trades),
        trade_count=len(figures.closed_trades),
    )


def traders_pnl_today(*, trader_ids: list[int]) -> dict[int, PnlToday]:
    """pnl_today of each trader, by id (the trader pages' column)."""
    return {trader_id: pnl_today(trader_id=trader_id) for trader_id in trader_ids}
