"""/api/v1/signals: read-only, every role (RoleSessionAuth already requires the viewer role).

Signals are written by the worker only, so there is no write endpoint.
"""

# No `from __future__ import annotations` here (as in apps/core/crud.py): ninja's pagination
# wrapper hides this module's globals, so a string annotation such as Query[SignalFilters]
# could not be resolved when the endpoint is built.
from datetime import datetime
from typing import Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from apps.core.paging import Pagination
from apps.core.schemas import ErrorOut, RowId, TimeRangeIn
from apps.market.timeframes import TIMEFRAME_MS
from apps.signals import selectors
from apps.signals.models import Signal

Timeframe = Literal[tuple(TIMEFRAME_MS)]  # type: ignore[valid-type]

router = Router(tags=["signals"])


class SignalOut(Schema):
    id: int
    strategy_id: int
    strategy_name: str
    strategy_version: int
    market_id: int
    market_symbol: str
    exchange: str
    timeframe: str
    candle_open_time: datetime
    direction: Signal.Direction
    status: Signal.Status
    inputs: dict[str, float | None] = Field(description="Price and indicator values on the candle; null: no value yet.")
    created_at: datetime

    @staticmethod
    def resolve_strategy_name(obj: Signal) -> str:
        return obj.strategy.name

    @staticmethod
    def resolve_market_symbol(obj: Signal) -> str:
        return obj.market.symbol

    @staticmethod
    def resolve_exchange(obj: Signal) -> str:
        return obj.market.exchange


class SignalFilters(TimeRangeIn):
    strategy: RowId | None = Field(None, description="Strategy id.")
    market: RowId | None = Field(None, description="Market id.")
    timeframe: Timeframe | None = None
    direction: Signal.Direction | None = None
    status: Signal.Status | None = None
    since: datetime | None = Field(None, description="Candles opened at or after this time (UTC when no offset).")
    until: datetime | None = Field(None, description="Candles opened before this time (UTC when no offset).")
    ordering: Literal[selectors.ORDERINGS] = "-candle_open_time"  # type: ignore[valid-type]


class StrategyCountsOut(Schema):
    strategy_id: int
    strategy_name: str
    emitted: int
    suppressed: int = Field(description="Held back by the cooldown: kept and counted, not emitted.")


@router.get("", response=list[SignalOut], url_name="signal_list", operation_id="signal_list")
@paginate(Pagination)
def signal_list(request: HttpRequest, filters: Query[SignalFilters]):
    return selectors.signal_list(**filters.dict())


@router.get("/counts", response=list[StrategyCountsOut], url_name="signal_counts", operation_id="signal_counts")
def signal_counts(request: HttpRequest, filters: Query[SignalFilters]):
    """Emitted and suppressed signals per strategy among those the filters select."""
    return selectors.signal_counts(signals=selectors.signal_list(**filters.dict()))


@router.get(
    "/{signal_id}", response={200: SignalOut, 404: ErrorOut}, url_name="signal_detail", operation_id="signal_detail"
)
def signal_detail(request: HttpRequest, signal_id: RowId):
    return get_object_or_404(selectors.signal_list(), pk=signal_id)
