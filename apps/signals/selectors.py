from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q, QuerySet
from pydantic import ValidationError

from apps.core.times import as_utc
from apps.market.models import Market
from apps.signals.models import Signal
from apps.strategies.models import Strategy
from apps.strategies.spec import StrategySpec

ORDERINGS = ("-candle_open_time", "candle_open_time", "-created_at", "created_at")


def signal_list(
    *,
    strategy: int | None = None,
    market: int | None = None,
    timeframe: str | None = None,
    direction: str | None = None,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    ordering: str = "-candle_open_time",
) -> QuerySet[Signal]:
    """Signals whose candle opened in [since, until), newest first unless `ordering` says otherwise."""
    signals = Signal.objects.select_related("strategy", "market")
    if strategy:
        signals = signals.filter(strategy_id=strategy)
    if market:
        signals = signals.filter(market_id=market)
    if timeframe:
        signals = signals.filter(timeframe=timeframe)
    if direction:
        signals = signals.filter(direction=direction)
    if status:
        signals = signals.filter(status=status)
    if since is not None:
        signals = signals.filter(candle_open_time__gte=as_utc(since))
    if until is not None:
        signals = signals.filter(candle_open_time__lt=as_utc(until))
    primary = ordering if ordering in ORDERINGS else "-candle_open_time"
    # The id breaks ties (two markets, one candle time) so that pages do not overlap.
    return signals.order_by(primary, "-id" if primary.startswith("-") else "id")


@dataclass(frozen=True)
class StrategySignalCounts:
    strategy_id: int
    strategy_name: str
    emitted: int
    suppressed: int

    @property
    def total(self) -> int:
        return self.emitted + self.suppressed


def signal_counts(*, signals: QuerySet[Signal]) -> list[StrategySignalCounts]:
    """Emitted and suppressed signals per strategy among `signals`, busiest strategy first."""
    rows = (
        signals.order_by()
        .values("strategy_id", "strategy__name")
        .annotate(
            emitted=Count("id", filter=Q(status=Signal.Status.EMITTED)),
            suppressed=Count("id", filter=Q(status=Signal.Status.SUPPRESSED)),
        )
    )
    counts = [
        StrategySignalCounts(row["strategy_id"], row["strategy__name"], row["emitted"], row["suppressed"])
        for row in rows
    ]
    return sorted(counts, key=lambda entry: (-entry.total, entry.strategy_name))


def strategy_spec_or_none(strategy: Strategy) -> StrategySpec | None:
    """The strategy's rules, or None for a stored spec that no longer validates (it is not evaluated)."""
    try:
        return strategy.parsed_spec()
    except ValidationError:
        return None


def strategy_followed_series() -> set[tuple[int, str]]:
    """(market id, timeframe) of every market an enabled strategy names (on any exchange), on its timeframe:
    what live collection must fetch for the strategies (registered in apps.market.collection)."""
    followed: set[tuple[int, str]] = set()
    for strategy in Strategy.objects.filter(enabled=True).order_by("pk"):
        spec = strategy_spec_or_none(strategy)
        if spec is None:
            continue
        ids = Market.objects.filter(symbol__in=spec.markets).values_list("pk", flat=True)
        followed.update((pk, spec.timeframe) for pk in ids)
    return followed


def strategies_using(*, market: Market, timeframe: str) -> list[Strategy]:
    """Enabled strategies whose spec names this market's symbol and this timeframe."""
    using = []
    # In Python rather than SQL: JSON list containment is spelled differently on SQLite and
    # PostgreSQL, and a desk has a handful of strategies.
    for strategy in Strategy.objects.filter(enabled=True).order_by("pk"):
        spec = strategy_spec_or_none(strategy)
        if spec is not None and spec.timeframe == timeframe and market.symbol in spec.markets:
            using.append(strategy)
    return using
