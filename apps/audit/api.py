"""/api/v1/decisions: the decision log, read-only for every role (RoleSessionAuth already requires
the viewer role). The worker's cycle writes the rows; nothing here changes them."""

# No `from __future__ import annotations` here (as in apps/signals/api.py): ninja's pagination
# wrapper hides this module's globals, so a string annotation such as Query[DecisionFiltersIn]
# could not be resolved when the endpoint is built.
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from apps.audit import selectors
from apps.audit.models import DecisionLog
from apps.core.paging import Pagination
from apps.core.schemas import ErrorOut, RowId, TimeRangeIn

router = Router(tags=["decisions"])


class EvidenceOut(Schema):
    source: str
    value: str
    observation: str


class DecisionOut(Schema):
    id: int
    trader_id: int
    trader_name: str
    market_id: int
    market_symbol: str
    exchange: str
    timeframe: str
    candle_open_time: datetime = Field(description="Open time (UTC) of the closed candle decided on.")
    decided_at: datetime
    mode: str = Field(description="The trader's decision mode.")
    strategy_version: int | None
    action: DecisionLog.Action
    outcome: DecisionLog.Outcome
    reason: str
    inputs: dict[str, Any] = Field(
        description="Price, indicator values, sentiment, position and equity as read; null: missing."
    )
    signal_id: int | None
    plan_id: int | None
    risk_report: dict[str, Any] | None
    error: str
    latency_ms: int
    realised_pnl: Decimal | None = Field(description="After fees, on the entry's decision once its plan completed.")
    prompt_version: int | None = Field(description="AI mode: the prompt template's version; null otherwise.")
    prompt_hash: str = Field(description="AI mode: sha256 of the prompt sent (the replay key); empty otherwise.")
    ai_model: str = Field(description="AI mode: the model that answered; empty when none was asked.")
    tokens_in: int
    tokens_out: int
    cost: Decimal | None
    ai_latency_ms: int | None = Field(description="AI mode: the model's answer time.")
    ai_plan: dict[str, Any] | None = Field(description="AI mode: the validated trade plan; null: no trade.")
    evidence: list[EvidenceOut] = Field(description="AI mode: the evidence the model gave for its plan.")

    @staticmethod
    def resolve_evidence(obj: DecisionLog) -> list[dict[str, str]]:
        return obj.evidence_items()

    @staticmethod
    def resolve_trader_name(obj: DecisionLog) -> str:
        return obj.trader.name

    @staticmethod
    def resolve_market_symbol(obj: DecisionLog) -> str:
        return obj.market.symbol

    @staticmethod
    def resolve_exchange(obj: DecisionLog) -> str:
        return obj.market.exchange

    @staticmethod
    def resolve_inputs(obj: DecisionLog) -> dict[str, Any]:
        return obj.recorded_inputs()


class DecisionStatsOut(Schema):
    decisions: int
    trades: int = Field(description="Decisions that traded: an entry or an exit sent through a trade plan.")
    risk_rejections: int
    errors: int
    completed: int = Field(description="Trades whose plan completed with a realised PnL.")
    wins: int
    win_rate: float | None = Field(description="wins / completed, from 0 to 1; null before any completed trade.")
    realised_pnl: Decimal = Field(description="Sum of the completed trades' realised PnL, after fees.")


class DecisionFiltersIn(TimeRangeIn):
    trader: RowId | None = Field(None, description="Trader id.")
    market: RowId | None = Field(None, description="Market id.")
    outcome: DecisionLog.Outcome | None = None
    since: datetime | None = Field(None, description="Candles opened at or after this time (UTC when no offset).")
    until: datetime | None = Field(None, description="Candles opened before this time (UTC when no offset).")

    def selected(self) -> selectors.DecisionFilters:
        return selectors.DecisionFilters(**self.dict())


@router.get("", response=list[DecisionOut], url_name="decision_list", operation_id="decision_list")
@paginate(Pagination)
def decision_list(request: HttpRequest, filters: Query[DecisionFiltersIn]):
    """Decisions, newest candle first."""
    return selectors.decision_list(filters=filters.selected())


@router.get("/stats", response=DecisionStatsOut, url_name="decision_stats", operation_id="decision_stats")
def decision_stats(request: HttpRequest, filters: Query[DecisionFiltersIn]):
    """Figures over the decisions the same filters select."""
    return selectors.decision_stats(filters=filters.selected())


@router.get(
    "/{decision_id}",
    response={200: DecisionOut, 404: ErrorOut},
    url_name="decision_detail",
    operation_id="decision_detail",
)
def decision_detail(request: HttpRequest, decision_id: RowId):
    return get_object_or_404(selectors.decision_list(), pk=decision_id)
