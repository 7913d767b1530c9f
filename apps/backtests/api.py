"""/api/v1/backtests: recorded runs for every role to read; operators start one with POST (the
worker runs it; poll the run's `status` and `progress`). The files are downloaded from the pages
(`files` gives their URLs once the run is done)."""

# No `from __future__ import annotations` here (as in apps/strategies/api.py): ninja's pagination
# wrapper hides this module's globals, so a string annotation such as Query[RunFilters] could not
# be resolved when the endpoint is built.
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import paginate
from pydantic import field_validator

from apps.backtests import selectors, services
from apps.backtests.engine import BacktestParams
from apps.backtests.models import BacktestRun
from apps.core.auth import OPERATOR
from apps.core.paging import Pagination
from apps.core.schemas import ErrorOut, RowId, utc_time_in
from apps.market.candles_io import ms_to_datetime
from apps.market.models import Market
from apps.market.timeframes import TIMEFRAME_MS
from apps.strategies.models import Strategy

Timeframe = Literal[tuple(TIMEFRAME_MS)]  # type: ignore[valid-type]
Source = Literal[tuple(BacktestRun.Source.values)]  # type: ignore[valid-type]

router = Router(tags=["backtests"])


class RunOut(Schema):
    id: int
    strategy_name: str
    strategy_source: str
    strategy_id: int | None
    strategy_version: int | None
    exchange: str
    symbol: str
    timeframe: str
    status: str
    phase: str
    progress: int
    error: str
    requested_start: datetime | None
    requested_end: datetime | None
    period_start: datetime | None
    period_end: datetime | None
    bars: int
    initial_cash: Decimal
    fee_bps: Decimal
    slippage_bps: Decimal
    size_pct: Decimal
    sl_pct: Decimal | None
    tp_pct: Decimal | None
    total_return: float | None
    sharpe: float | None
    max_drawdown: float | None
    trade_count: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None


class RunDetailOut(RunOut):
    spec: dict[str, Any]
    metrics: dict[str, Any]
    files: dict[str, str]

    @staticmethod
    def resolve_files(obj: BacktestRun) -> dict[str, str]:
        if obj.status != BacktestRun.Status.DONE:
            return {}
        return {kind: reverse("backtests:file", args=[obj.pk, kind]) for kind in selectors.OUTPUT_KINDS}


DEFAULTS = BacktestParams()


class RunIn(Schema):
    """A run of a stored strategy; the period is [start, end) in bar open times (UTC when naive)."""

    strategy_id: int
    market_id: int = Field(description="A stored market among the strategy spec's markets.")
    timeframe: Timeframe | None = Field(None, description="Default: the spec's timeframe.")
    start: datetime | None = Field(None, description="First bar, inclusive. Default: the first stored bar.")
    end: datetime | None = Field(None, description="Bars opening before this. Default: through the last stored bar.")
    cash: float = DEFAULTS.cash
    fee_bps: float = DEFAULTS.fee_bps
    slippage_bps: float = DEFAULTS.slippage_bps
    size_pct: float = DEFAULTS.size_pct
    sl_pct: float | None = None
    tp_pct: float | None = None

    @field_validator("start", "end")
    @classmethod
    def _in_utc(cls, moment: datetime | None) -> datetime | None:
        return utc_time_in(moment)


class RunFilters(Schema):
    search: str | None = None
    timeframe: Timeframe | None = None
    exchange: str | None = None
    source: Source | None = None
    ordering: Literal[selectors.ORDERINGS] = "-created_at"  # type: ignore[valid-type]


@router.get("", response=list[RunOut], url_name="backtest_list")
@paginate(Pagination)
def backtest_list(request: HttpRequest, filters: Query[RunFilters]):
    return selectors.backtest_run_list(**filters.dict())


@router.post("", response={202: RunDetailOut, 404: ErrorOut}, auth=OPERATOR, url_name="backtest_start")
def backtest_start(request: HttpRequest, payload: RunIn):
    """Queue a backtest for the worker (operators). Bad input answers 422 naming the field."""
    strategy = get_object_or_404(Strategy, pk=payload.strategy_id)
    market = get_object_or_404(Market, pk=payload.market_id)
    params = BacktestParams(**payload.dict(include={"cash", "fee_bps", "slippage_bps", "size_pct", "sl_pct", "tp_pct"}))
    run = services.backtest_start(
        strategy=strategy,
        market=market,
        timeframe=payload.timeframe,
        params=params,
        start=payload.start,
        end=payload.end,
        created_by=request.user,
    )
    return Status(202, selectors.backtest_run_get(pk=run.pk))


@router.get("/{run_id}", response={200: RunDetailOut, 404: ErrorOut}, url_name="backtest_detail")
def backtest_detail(request: HttpRequest, run_id: RowId):
    run = selectors.backtest_run_get(pk=run_id)
    if run is None:
        raise HttpError(404, "No such backtest run.")
    return run


class EquityPointOut(Schema):
    time: datetime = Field(description="Open time (UTC) of the bar at whose close the equity was measured.")
    equity: float
    drawdown: float = Field(description="Fraction below the running peak (0 at a new high, -0.1 is 10 % down).")


class EquityOut(Schema):
    run_id: int
    initial_cash: Decimal
    total_points: int = Field(description="Points in the run's equity file; `points` keeps each bucket's extremes.")
    points: list[EquityPointOut]


class EquityQuery(Schema):
    max_points: int = Field(2000, ge=10, le=10_000, description="Buckets to downsample into (about 2 per bucket).")


@router.get("/{run_id}/equity", response={200: EquityOut, 404: ErrorOut, 409: ErrorOut}, url_name="backtest_equity")
def backtest_equity(request: HttpRequest, run_id: RowId, query: Query[EquityQuery]):
    """The equity and drawdown curve of a finished run, for its chart (downsampled, troughs kept)."""
    run = selectors.backtest_run_get(pk=run_id)
    if run is None:
        raise HttpError(404, "No such backtest run.")
    if run.status != BacktestRun.Status.DONE:
        raise HttpError(409, f"Backtest #{run.pk} is {run.get_status_display().lower()}: no equity yet.")
    series = selectors.backtest_equity(run=run, max_points=query.max_points)
    if series is None:
        raise HttpError(404, f"Backtest #{run.pk}'s equity file is no longer on disk.")
    points = [
        {"time": ms_to_datetime(int(ms)), "equity": float(equity), "drawdown": float(drawdown)}
        for ms, equity, drawdown in zip(
            series.time_ms.tolist(), series.equity.tolist(), series.drawdown.tolist(), strict=True
        )
    ]
    return {"run_id": run.pk, "initial_cash": run.initial_cash, "total_points": series.total_points, "points": points}
