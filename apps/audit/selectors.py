"""Reads of the decision log: the filtered list, newest candle first, and the figures over it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum

from apps.audit.models import DecisionLog

Outcome = DecisionLog.Outcome
CENT = Decimal("0.01")  # the log keeps each realised PnL to the cent; SQLite's SUM drops the exponent


@dataclass(frozen=True)
class DecisionFilters:
    """What the log is narrowed to; None leaves a filter out. The range is on the candle decided on:
    opened at or after `since` and before `until` (timezone-aware)."""

    trader: int | None = None
    market: int | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None


NO_FILTERS = DecisionFilters()


def decision_list(*, filters: DecisionFilters = NO_FILTERS) -> QuerySet[DecisionLog]:
    """The decisions the filters select, newest candle first (the id breaks ties, so pages never overlap)."""
    decisions = DecisionLog.objects.select_related("trader", "market")
    if filters.trader is not None:
        decisions = decisions.filter(trader_id=filters.trader)
    if filters.market is not None:
        decisions = decisions.filter(market_id=filters.market)
    if filters.outcome:
        decisions = decisions.filter(outcome=filters.outcome)
    if filters.since is not None:
        decisions = decisions.filter(candle_open_time__gte=filters.since)
    if filters.until is not None:
        decisions = decisions.filter(candle_open_time__lt=filters.until)
    return decisions.order_by("-candle_open_time", "-id")


@dataclass(frozen=True)
class DecisionStats:
    """Figures over a filtered log. `trades` counts the decisions that traded (an entry or an exit
    sent through a trade plan). A trade is completed once its plan completed and its realised PnL
    (after fees) was recorded on the entry's decision; the win rate is over those."""

    decisions: int
    trades: int
    risk_rejections: int
    errors: int
    completed: int
    wins: int
    realised_pnl: Decimal

    @property
    def win_rate(self) -> float | None:
        """Winning completed trades (PnL above zero) / completed trades; None before any completed."""
        return self.wins / self.completed if self.completed else None


def decision_stats(*, filters: DecisionFilters = NO_FILTERS) -> DecisionStats:
    """Decisions, trades, risk rejections, errors, win rate and realised PnL over what `filters` select."""
    figures = (
        decision_list(filters=filters)
        .order_by()
        .aggregate(
            decisions=Count("id"),
            trades=Count("id", filter=Q(outcome=Outcome.TRADED)),
            risk_rejections=Count("id", filter=Q(outcome=Outcome.REJECTED)),
            errors=Count("id", filter=Q(outcome=Outcome.ERROR)),
            completed=Count("id", filter=Q(realised_pnl__isnull=False)),
            wins=Count("id", filter=Q(realised_pnl__gt=0)),
            realised_pnl=Sum("realised_pnl"),
        )
    )
    return DecisionStats(**{**figures, "realised_pnl": (figures["realised_pnl"] or Decimal(0)).quantize(CENT)})
