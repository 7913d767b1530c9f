"""/api/v1/backtests: recorded runs, read-only, for every role. Runs are made by
`manage.py backtest`; the files are downloaded from the pages (`files` gives their URLs)."""

# No `from __future__ import annotations` here (as in apps/strategies/api.py): ninja's pagination
# wrapper hides this module's globals, so a string annotation such as Query[RunFilters] could not
# be resolved when the endpoint is built.
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from django.urls import reverse
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from ninja.pagination import paginate

from apps.backtests import selectors
from apps.backtests.models import BacktestRun
from apps.core.paging import Pagination
from apps.core.schemas import ErrorOut, RowId
from apps.market.timeframes import TIMEFRAME_MS

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
    period_start: datetime
    period_end: datetime
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
    duration_seconds: float


class RunDetailOut(RunOut):
    spec: dict[str, Any]
    metrics: dict[str, Any]
    files: dict[str, str]

    @staticmethod
    def resolve_files(obj: BacktestRun) -> dict[str, str]:
        return {kind: reverse("backtests:file", args=[obj.pk, kind]) for kind in selectors.OUTPUT_KINDS}


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


@router.get("/{run_id}", response={200: RunDetailOut, 404: ErrorOut}, url_name="backtest_detail")
def backtest_detail(request: HttpRequest, run_id: RowId):
    run = selectors.backtest_run_get(pk=run_id)
    if run is None:
        raise HttpError(404, "No such backtest run.")
    return run
