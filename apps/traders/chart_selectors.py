"""What the candle charts draw: a bounded window of a market's candles, the entry and exit fills of
trade plans on it as markers, and the stop-loss, take-profit and entry prices of plans as lines.

Times follow the prices the plans traded at. A paper account on the replay trades at the replay's
market time (prices from 2023 traded today), so a fill is placed at the event's `market_time`, and
the candles end at the replay's horizon (the candles after it are "the future" for live use); every
other account trades at the wall clock, on the exchange feed's candles. A chart therefore shows one
source's candles, and only the plans of accounts that follow that source.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.db.models.functions import Coalesce

from apps.core.errors import ServiceValidationError
from apps.market import selectors as market_selectors
from apps.market.candles_io import datetime_to_ms, ms_to_datetime
from apps.market.models import Candle, Market, MarketFeed
from apps.market.timeframes import timeframe_ms
from apps.traders.models import Execution, PlanEvent, TradePlan, Trader
from apps.traders.models.plans import OPEN_PLAN_STATUSES
from apps.traders.selectors import trader_timeframe

DEFAULT_BARS = 300
MAX_BARS = 1000
MAX_MARKERS = 500
MAX_LINE_PLANS = 20  # open plans whose levels are drawn on a market or trader chart
EXIT_LEGS = (Execution.Leg.STOP_LOSS, Execution.Leg.TAKE_PROFIT, Execution.Leg.EXIT)
# A finished plan's chart ends this many bars after its last fill, so the trade sits in view.
BARS_AFTER_PLAN = 20


class ChartRefused(ServiceValidationError):
    """A chart that cannot be drawn as asked; `field` names the query parameter at fault."""

    def field_errors(self) -> list[dict[str, Any]]:
        return [{"loc": ["query", self.field], "msg": self.message}]


@dataclass(frozen=True)
class ChartMarker:
    """A fill, on the open time of the bar it happened in."""

    time: datetime
    plan_id: int
    execution_id: int
    leg: str
    side: str
    price: Decimal
    quantity: Decimal

    @property
    def kind(self) -> str:
        return "entry" if self.leg == Execution.Leg.ENTRY else "exit"


@dataclass(frozen=True)
class ChartLine:
    plan_id: int
    kind: str  # "stop_loss", "take_profit" or "entry"
    price: Decimal


@dataclass(frozen=True)
class CandleChart:
    market: Market
    timeframe: str
    source: str | None  # the feed whose horizon ends the candles; None: every stored candle
    horizon: datetime | None
    candles: list[Candle]
    markers: list[ChartMarker]
    lines: list[ChartLine]
    timeframes: list[str]  # every stored timeframe of the market, for a picker


@dataclass(frozen=True)
class ChartScope:
    """Whose plans a chart shows, on which market and source."""

    market: Market
    source: str | None
    plans: QuerySet[TradePlan]
    plan: TradePlan | None = None  # the plan page: its levels always, and the window around it
    trader: Trader | None = None


def chart_scope(
    *, market: Market | None = None, trader: Trader | None = None, plan: TradePlan | None = None
) -> ChartScope:
    """The plan's market and account; or a trader's market (`market`, else its first); or a market."""
    if plan is not None:
        if market is not None and market.pk != plan.market_id:
            raise ChartRefused("market_id", f"plan {plan.pk} trades {plan.market.symbol}, not market {market.pk}")
        plans = TradePlan.objects.filter(pk=plan.pk)
        return ChartScope(plan.market, plan.account.feed_source, plans, plan=plan, trader=plan.trader)
    if trader is not None:
        markets = list(trader.markets.order_by("symbol"))
        if market is None and not markets:
            raise ChartRefused("trader_id", f"trader {trader.name} trades no market; give market_id")
        market = market or markets[0]
        plans = TradePlan.objects.filter(trader=trader, market=market)
        return ChartScope(market, trader.account.feed_source, plans, trader=trader)
    if market is None:
        raise ChartRefused("market_id", "give market_id, trader_id or plan_id")
    source = _market_source(market)
    plans = TradePlan.objects.filter(market=market)
    if source is not None:
        # Only the plans trading on this source's clock: a live fill has no place on replayed candles.
        accounts_on_replay = {"account__mode": "paper", "account__price_source": "replay"}
        plans = (
            plans.filter(**accounts_on_replay)
            if source == MarketFeed.Source.REPLAY
            else plans.exclude(**accounts_on_replay)
        )
    return ChartScope(market, source, plans)


def _market_source(market: Market) -> str | None:
    """A market page follows its replay when it has one (the demo), else its exchange feed, else nothing."""
    sources = set(MarketFeed.objects.filter(market=market, horizon__isnull=False).values_list("source", flat=True))
    for source in (MarketFeed.Source.REPLAY, MarketFeed.Source.EXCHANGE):
        if source in sources:
            return source
    return None


def chart_timeframe(*, scope: ChartScope, asked: str | None, stored: list[str]) -> str:
    """The asked timeframe; else the trader's; else the market's shortest stored one."""
    if asked:
        return asked
    if scope.trader is not None and (timeframe := trader_timeframe(trader=scope.trader)) in stored:
        return timeframe
    if not stored:
        raise ChartRefused("market_id", f"{scope.market.symbol} has no stored candles")
    return stored[0]


def candle_chart(*, scope: ChartScope, timeframe: str | None = None, limit: int = DEFAULT_BARS) -> CandleChart:
    """The newest `limit` candles up to the source's horizon (a finished plan: up to a little after
    it), with the fills and levels of the scope's plans."""
    if not 1 <= limit <= MAX_BARS:
        raise ChartRefused("limit", f"must be from 1 to {MAX_BARS} bars")
    stored = market_selectors.stored_timeframes(market=scope.market)
    timeframe = chart_timeframe(scope=scope, asked=timeframe, stored=stored)
    step = timeframe_ms(timeframe)
    horizon = (
        market_selectors.feed_horizon(market=scope.market, timeframe=timeframe, source=scope.source)
        if scope.source is not None
        else None
    )
    end = _plan_window_end(scope, horizon=horizon, step=step)
    candles = market_selectors.candle_window(market=scope.market, timeframe=timeframe, limit=limit, end=end)
    markers: list[ChartMarker] = []
    if candles:
        first, last = candles[0].open_time, candles[-1].open_time + timedelta(milliseconds=step)
        markers = _markers(scope.plans, start=first, end=last, step=step)
    return CandleChart(
        market=scope.market,
        timeframe=timeframe,
        source=scope.source,
        horizon=horizon,
        candles=candles,
        markers=markers,
        lines=_lines(scope),
        timeframes=stored,
    )


def _fill_events(plans: QuerySet[TradePlan]) -> QuerySet[PlanEvent]:
    """The timeline events that report a fill, each with `happened`: market time on the replay, else wall."""
    return (
        PlanEvent.objects.filter(plan__in=plans, execution__isnull=False, execution__filled__gt=0)
        .annotate(happened=Coalesce("market_time", "at"))
        .order_by("happened", "id")
    )


def _plan_window_end(scope: ChartScope, *, horizon: datetime | None, step: int) -> datetime | None:
    if scope.plan is None or scope.plan.is_open:
        return horizon
    last_fill = _fill_events(scope.plans).values_list("happened", flat=True).last()
    if last_fill is None:
        return horizon
    after = last_fill + timedelta(milliseconds=step * BARS_AFTER_PLAN)
    return after if horizon is None else min(after, horizon)


def _bar_of(moment: datetime, step: int) -> datetime:
    ms = datetime_to_ms(moment)
    return ms_to_datetime(ms - ms % step)


def _markers(plans: QuerySet[TradePlan], *, start: datetime, end: datetime, step: int) -> list[ChartMarker]:
    """One marker per filled execution, at the bar of the first event that reported its fill."""
    events = _fill_events(plans).filter(happened__gte=start, happened__lt=end).select_related("execution")
    markers: dict[int, ChartMarker] = {}
    for event in events[: MAX_MARKERS * 3]:  # a partial fill reports the same execution more than once
        execution = event.execution
        if execution.pk in markers or len(markers) == MAX_MARKERS:
            continue
        markers[execution.pk] = ChartMarker(
            time=_bar_of(event.happened, step),
            plan_id=execution.plan_id,
            execution_id=execution.pk,
            leg=execution.leg,
            side=execution.side,
            price=execution.average_price or execution.price or execution.trigger_price or Decimal(0),
            quantity=execution.filled,
        )
    return list(markers.values())


def _lines(scope: ChartScope) -> list[ChartLine]:
    """A plan page draws its plan's levels whatever its status; other charts the open plans' levels."""
    if scope.plan is not None:
        plans = [scope.plan]
    else:
        plans = list(scope.plans.filter(status__in=OPEN_PLAN_STATUSES).order_by("-created_at")[:MAX_LINE_PLANS])
    lines = []
    for plan in plans:
        entry = plan.average_entry_price or plan.entry_price
        for kind, price in (("entry", entry), ("stop_loss", plan.stop_loss), ("take_profit", plan.take_profit)):
            if price is not None:
                lines.append(ChartLine(plan_id=plan.pk, kind=kind, price=price))
    return lines
