"""Reads of the dashboard (/) and its panels, and of the alert banner on every page.

Every panel reads a bounded number of rows with a fixed number of queries, whatever the number of
rows: the page is rendered on each visit and each panel again for every live event that touches it
(apps.dashboard.live).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When

from apps.audit.models import DecisionLog
from apps.audit.selectors import decision_list
from apps.market.models import Candle, MarketFeed
from apps.market.selectors import market_last_price
from apps.market.timeframes import TIMEFRAME_MS
from apps.signals.models import Signal
from apps.signals.selectors import signal_list
from apps.traders.models import OPEN_PLAN_STATUSES, Alert, Execution, Side, TradePlan, Trader
from apps.traders.pnl_selectors import EquityPoint, PnlToday, equity_series, pnl_today, traders_pnl_today
from apps.traders.selectors import (
    POSITION_PLAN_STATUSES,
    alert_list,
    trader_heartbeat_stale,
    trader_list,
    trader_risk_state_get,
    trader_timeframe,
)

BANNER_ALERTS = 3
TRADERS_SHOWN = 50
POSITIONS_SHOWN = 50
ORDERS_SHOWN = 50
LATEST_SHOWN = 10  # signals, decisions, executions and alerts: the newest few, each list links to all
ORDER_STATUSES = (Execution.Status.NEW, Execution.Status.OPEN, Execution.Status.UNKNOWN)


@dataclass(frozen=True)
class AlertBanner:
    """What every page shows while alerts are open: how many, how many critical, the first few."""

    count: int
    critical: int
    first: list[Alert]

    @property
    def more(self) -> int:
        return self.count - len(self.first)


def alert_open_list() -> QuerySet:
    """Unacknowledged alerts, critical first, then warnings, then newest first."""
    severity = Case(
        When(level=Alert.Level.CRITICAL, then=Value(0)),
        When(level=Alert.Level.WARNING, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return alert_list(acknowledged=False).order_by(severity, "-created_at", "-id")


def alert_acknowledged_list() -> QuerySet:
    """Acknowledged alerts, newest first."""
    return alert_list(acknowledged=True)


def alert_banner() -> AlertBanner | None:
    """None while nothing is open, so pages show no banner."""
    alerts = alert_open_list()
    counts = alerts.aggregate(count=Count("id"), critical=Count("id", filter=Q(level=Alert.Level.CRITICAL)))
    if not counts["count"]:
        return None
    return AlertBanner(count=counts["count"], critical=counts["critical"], first=list(alerts[:BANNER_ALERTS]))


# --- the dashboard's panels ----------------------------------------------------------------------


@dataclass(frozen=True)
class TraderRow:
    trader: Trader
    stale: bool
    timeframe: str | None
    halt: str  # the trader's own halt, as its label; "" when none (the kill switch is shown beside)
    halt_reason: str
    pnl_today: PnlToday


def dashboard_traders(*, now: datetime) -> list[TraderRow]:
    """Every trader (the first TRADERS_SHOWN by name) with its heartbeat, halt and PnL today (pnl_today:
    realised + unrealised − fees since 00:00 UTC)."""
    traders = list(trader_list()[:TRADERS_SHOWN])
    pnl = traders_pnl_today(trader_ids=[trader.pk for trader in traders])
    rows = []
    for trader in traders:
        state = trader_risk_state_get(trader=trader)
        rows.append(
            TraderRow(
                trader=trader,
                stale=trader_heartbeat_stale(trader=trader, now=now),
                timeframe=trader_timeframe(trader=trader),
                halt=state.get_halt_display() if state is not None and state.halt else "",
                halt_reason=state.halt_reason if state is not None and state.halt else "",
                pnl_today=pnl[trader.pk],
            )
        )
    return rows


@dataclass(frozen=True)
class PositionRow:
    plan: TradePlan
    mark: Decimal | None
    unrealised_pnl: Decimal | None  # in the quote currency, before the exit's fee


def unrealised_pnl(*, side: str, quantity: Decimal, entry: Decimal, mark: Decimal) -> Decimal:
    """What closing `quantity` at `mark` would make over `entry`, fees aside (linear contracts)."""
    direction = 1 if side == Side.BUY else -1
    return (mark - entry) * quantity * direction


def dashboard_positions() -> list[PositionRow]:
    """Plans that hold a position, newest first, each marked at its market's latest price."""
    plans = list(
        TradePlan.objects.filter(status__in=POSITION_PLAN_STATUSES)
        .select_related("trader", "account", "market")
        .order_by("-created_at", "-id")[:POSITIONS_SHOWN]
    )
    marks = market_marks(wanted={(plan.market_id, plan.account.feed_source) for plan in plans})
    rows = []
    for plan in plans:
        mark = marks.get((plan.market_id, plan.account.feed_source))
        entry = plan.average_entry_price
        pnl = None
        if mark is not None and entry is not None:
            pnl = unrealised_pnl(side=plan.side, quantity=plan.filled_quantity, entry=entry, mark=mark)
        rows.append(PositionRow(plan=plan, mark=mark, unrealised_pnl=pnl))
    return rows


def market_marks(*, wanted: Iterable[tuple[int, str]]) -> dict[tuple[int, str], Decimal]:
    """The price positions are marked at, by (market id, feed source), as the paper exchange marks them:
    the close of the newest candle the feed released on its shortest timeframe, or on exchange prices
    the last trade price collection cached, when newer than that candle's close. Two queries for any
    number of markets; a market with no released candle is absent."""
    wanted = set(wanted)
    if not wanted:
        return {}
    feeds: dict[tuple[int, str], MarketFeed] = {}
    rows = MarketFeed.objects.filter(market_id__in={market for market, _ in wanted}, horizon__isnull=False)
    rows = rows.select_related("market")
    for feed in rows:
        key = (feed.market_id, feed.source)
        if key in wanted and (key not in feeds or TIMEFRAME_MS[feed.timeframe] < TIMEFRAME_MS[feeds[key].timeframe]):
            feeds[key] = feed
    if not feeds:
        return {}
    released = Q()
    for feed in feeds.values():
        released |= Q(market_id=feed.market_id, timeframe=feed.timeframe, open_time=feed.horizon)
    closes = {
        (market, timeframe): close
        for market, timeframe, close in Candle.objects.filter(released).values_list("market_id", "timeframe", "close")
    }
    marks = {}
    for key, feed in feeds.items():
        close = closes.get((feed.market_id, feed.timeframe))
        if close is None:
            continue
        marks[key] = close
        if feed.source == MarketFeed.Source.EXCHANGE:
            last = market_last_price(market=feed.market)
            closed_at = feed.horizon + timedelta(milliseconds=TIMEFRAME_MS[feed.timeframe])
            if last is not None and last[1] >= closed_at:
                marks[key] = last[0]
    return marks


def dashboard_orders() -> list[Execution]:
    """Orders sent (or being sent) and not yet done, of open plans, newest first."""
    orders = Execution.objects.filter(status__in=ORDER_STATUSES, plan__status__in=OPEN_PLAN_STATUSES)
    return list(orders.select_related("plan__market", "plan__trader").order_by("-created_at", "-id")[:ORDERS_SHOWN])


def dashboard_executions() -> list[Execution]:
    """The latest orders that filled (wholly or in part), newest first."""
    fills = Execution.objects.filter(filled__gt=0).select_related("plan__market", "plan__trader")
    return list(fills.order_by("-updated_at", "-id")[:LATEST_SHOWN])


def dashboard_signals() -> list[Signal]:
    return list(signal_list()[:LATEST_SHOWN])


def dashboard_decisions() -> list[DecisionLog]:
    return list(decision_list()[:LATEST_SHOWN])


@dataclass(frozen=True)
class OpenAlerts:
    count: int
    first: list[Alert]


def dashboard_alerts() -> OpenAlerts:
    """The open alerts, critical first, and how many there are in all."""
    alerts = alert_open_list()
    return OpenAlerts(count=alerts.count(), first=list(alerts[:LATEST_SHOWN]))


def dashboard_equity() -> PnlToday:
    """The whole desk's equity now and its PnL since 00:00 UTC (every account, every trader)."""
    return pnl_today()


def dashboard_equity_points() -> list[EquityPoint]:
    """The whole desk's equity since 00:00 UTC, one point per 5 minutes (the chart above the panel)."""
    return equity_series()
