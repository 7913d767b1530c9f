"""/api/v1/chains: the audit trail of a plan or a decision as JSON, and a date range of chains as
JSON lines (streamed, one batch of chains in memory at a time). Every role reads."""

# No `from __future__ import annotations` (as in apps/audit/api.py): ninja resolves these annotations.
from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest, StreamingHttpResponse
from ninja import Field, Query, Router, Schema, Status
from pydantic import ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from apps.core.schemas import ErrorOut, RowId, utc_time_in
from apps.traders import chains

router = Router(tags=["chains"])
JSON_LINES = "application/x-ndjson"


class StepOut(Schema):
    kind: str = Field(description="candle, indicators, signal, decision, plan, risk, event, order, fill or pnl.")
    at: datetime | None = Field(description="When it happened (UTC); a candle's at its close, on the market's clock.")
    title: str
    data: dict[str, Any] = Field(description="The step's recorded values; amounts and prices as decimal strings.")


class ChainOut(Schema):
    kind: Literal["plan", "decision"]
    id: int
    trader_id: int
    trader: str
    market: str
    exchange: str
    plan_id: int | None
    decision_ids: list[int]
    steps: list[StepOut] = Field(description="In causal order: candle to PnL.")


class ChainRangeIn(Schema):
    start: datetime = Field(description="Chains begun at or after this time (UTC when no offset).")
    end: datetime = Field(description="Chains begun before this time (UTC when no offset).")

    @field_validator("start", "end")
    @classmethod
    def _in_utc(cls, moment: datetime) -> datetime:
        return utc_time_in(moment)

    @field_validator("end")
    @classmethod
    def _after_start(cls, end: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("start")
        if start is not None and end <= start:
            raise PydanticCustomError("range", "must be after start")
        return end


@router.get("", url_name="chain_export", operation_id="chain_export")
def chain_export(request: HttpRequest, period: Query[ChainRangeIn]):
    """Every chain begun in [start, end) as JSON lines (application/x-ndjson), oldest first: each plan
    by its creation, each decision that made no plan by when it was decided."""
    response = StreamingHttpResponse(chains.chain_lines(start=period.start, end=period.end), content_type=JSON_LINES)
    response["Content-Disposition"] = f'attachment; filename="chains-{period.start:%Y%m%dT%H%M}.jsonl"'
    return response


@router.get(
    "/{kind}/{chain_id}", response={200: ChainOut, 404: ErrorOut}, url_name="chain_detail", operation_id="chain_detail"
)
def chain_detail(request: HttpRequest, kind: Literal["plan", "decision"], chain_id: RowId):
    """The chain of a plan or a decision: a decision that made a plan answers with that plan's chain."""
    try:
        return chains.chain_get(kind=kind, chain_id=chain_id).as_dict()
    except chains.ChainNotFound as exc:
        return Status(404, {"detail": str(exc)})
