from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from apps.market.selectors import market_symbols
from apps.strategies.models import Strategy
from apps.strategies.presets import PRESETS, preset_names, preset_spec_data
from apps.strategies.spec import SpecError, StrategySpec, validate_spec

ORDERINGS = ("name", "-name", "version", "-version", "updated_at", "-updated_at", "created_at", "-created_at")
HISTORY_TYPES = {"+": "created", "~": "changed", "-": "deleted"}


def spec_validate(*, data: Any) -> tuple[StrategySpec | None, list[SpecError]]:
    """apps.strategies.spec.validate_spec plus what only the database knows: the markets a spec
    names must be stored ones (signals are matched to candles by symbol, on any exchange)."""
    return validate_spec(data, known_markets=market_symbols())


def strategy_list(
    *, enabled: bool | None = None, timeframe: str | None = None, search: str | None = None, ordering: str = "name"
) -> QuerySet[Strategy]:
    strategies = Strategy.objects.all()
    if enabled is not None:
        strategies = strategies.filter(enabled=enabled)
    if timeframe:
        strategies = strategies.filter(spec__timeframe=timeframe)
    if search:
        strategies = strategies.filter(Q(name__icontains=search) | Q(description__icontains=search))
    # The pk breaks ties so that pagination is stable when many rows share a version.
    return strategies.order_by(ordering if ordering in ORDERINGS else "name", "pk")


@dataclass(frozen=True)
class HistoryEntry:
    history_id: int
    version: int
    change: str
    user: str | None
    date: datetime
    reason: str
    enabled: bool
    spec: Any


def strategy_history(*, strategy: Strategy, limit: int | None = None) -> list[HistoryEntry]:
    """Newest first: who changed the strategy, when, why, and the spec as it was after the change."""
    records = strategy.history.select_related("history_user").order_by("-history_date", "-history_id")
    if limit is not None:
        records = records[:limit]
    return [
        HistoryEntry(
            history_id=record.history_id,
            version=record.version,
            change=HISTORY_TYPES.get(record.history_type, record.history_type),
            user=record.history_user.get_username() if record.history_user else None,
            date=record.history_date,
            reason=record.history_change_reason or "",
            enabled=record.enabled,
            spec=record.spec,
        )
        for record in records
    ]


def preset_list() -> list[dict[str, Any]]:
    """Each built-in preset with a complete spec (default timeframe and markets filled in)."""
    return [
        {"name": name, "description": PRESETS[name]["description"], "spec": preset_spec_data(name)}
        for name in preset_names()
    ]
