"""/api/v1/pnl: the desk's PnL per trader, per exchange account, or the whole desk (neither given).

Every role reads (the API's default auth). Money is a string with 2 decimals; drawdown, win rate and
profit factor are fractions (numbers). How each figure is computed: apps.traders.pnl_selectors.
"""

# No `from __future__ import annotations` here: ninja reads the endpoint annotations at runtime.
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated, Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from pydantic import PlainSerializer, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from apps.core.schemas import ErrorOut, RowId, ValidationErrorOut, utc_time_in
from apps.exchanges.models import ExchangeAccount
from apps.traders import pnl_selectors
from apps.traders.models import Trader

CENT = Decimal("0.01")
MAX_POINTS = 2000

Money = Annotated[Decimal, PlainSerializer(lambda value: str(value.quantize(CENT, ROUND_HALF_EVEN)), return_type=str)]
Interval = Literal["1m", "5m", "15m", "1h", "1d"]

router = Router(tags=["pnl"])


# --- schemas -------------------------------------------------------------------------------------


class ScopeIn(Schema):
    trader_id: RowId | None = Field(None, description="A trader: its own plans on its account.")
    account_id: RowId | None = Field(None, description="An exchange account: every trader's plans on it.")

    @field_validator("account_id")
    @classmethod
    def _one_scope(cls, account_id: int | None, info: ValidationInfo) -> int | None:
        if account_id is not None and info.data.get("trader_id") is not None:
            raise PydanticCustomError("scope", "give trader_id or account_id, not both")
        return account_id


class RangeIn(ScopeIn):
    start: datetime | None = Field(None, description="From this time (UTC when no offset).")
    end: datetime | None = Field(None, description="Before this time (UTC when no offset).")

    @field_validator("start", "end")
    @classmethod
    def _in_utc(cls, moment: datetime | None) -> datetime | None:
        return utc_time_in(moment)

    @field_validator("end")
    @classmethod
    def _after_start(cls, end: datetime | None, info: ValidationInfo) -> datetime | None:
        start = info.data.get("start")
        if end is not None and start is not None and end <= start:
            raise PydanticCustomError("range", "must be after start")
        return end


class SeriesIn(RangeIn):
    start: datetime | None = Field(None, description="From this time (UTC when no offset); default: today 00:00 UTC.")
    end: datetime | None = Field(None, description="Up to this time (UTC when no offset); default: now.")
    interval: Interval = Field(
        "5m", description=f"One point per interval (the last snapshot in it); at most {MAX_POINTS}."
    )

    @field_validator("interval")
    @classmethod
    def _not_too_many_points(cls, interval: str, info: ValidationInfo) -> str:
        now = timezone.now()
        start = info.data.get("start") or pnl_selectors.utc_day_start(now)
        end = info.data.get("end") or now
        points = (end - start) // pnl_selectors.INTERVALS[interval] + 1
        if points > MAX_POINTS:
            raise PydanticCustomError(
                "too_many_points",
                "gives {points} points from start to end, at most {limit}: choose a longer interval or a shorter range",
                {"points": points, "limit": MAX_POINTS},
            )
        return interval


class PnlTodayOut(Schema):
    realised: Money = Field(description="Gross PnL of today's closing fills (UTC day), before fees.")
    unrealised: Money = Field(description="The positions open now, at the mark price.")
    fees: Money = Field(description="Fees of today's fills.")
    net: Money = Field(description="realised + unrealised - fees.")
    equity: Money = Field(description="Starting balance + all realised PnL - all fees + unrealised.")


class PnlSummaryOut(Schema):
    realised: Money = Field(description="Gross PnL of the closing fills in the range, before fees.")
    unrealised: Money = Field(description="The positions open now, at the mark price.")
    fees: Money = Field(description="Fees of the fills in the range.")
    net: Money = Field(description="realised + unrealised - fees.")
    max_drawdown: float = Field(description="Largest fall of the equity snapshots in the range, a fraction <= 0.")
    win_rate: float | None = Field(
        description="Closed trades with a profit after fees / closed trades; null without any."
    )
    profit_factor: float | None = Field(
        description="Gross profit / gross loss of the closed trades; null without a loss."
    )
    trade_count: int = Field(description="Trades closed in the range.")


class EquityPointOut(Schema):
    time: datetime = Field(description="The interval's start (UTC).")
    equity: Money
    drawdown: float = Field(description="From the highest equity earlier in the series, a fraction <= 0.")


# --- endpoints -----------------------------------------------------------------------------------


def _missing(scope: ScopeIn) -> tuple[int, dict] | None:
    if scope.trader_id is not None and not Trader.objects.filter(pk=scope.trader_id).exists():
        return 404, {"detail": f"Trader {scope.trader_id} not found."}
    if scope.account_id is not None and not ExchangeAccount.objects.filter(pk=scope.account_id).exists():
        return 404, {"detail": f"Exchange account {scope.account_id} not found."}
    return None


ANSWERS = {404: ErrorOut, 422: ValidationErrorOut}


@router.get("/today", response={200: PnlTodayOut, **ANSWERS}, url_name="pnl_today", operation_id="pnl_today")
def pnl_today(request: HttpRequest, scope: Query[ScopeIn]):
    """Since 00:00 UTC today."""
    return _missing(scope) or pnl_selectors.pnl_today(trader_id=scope.trader_id, account_id=scope.account_id)


@router.get("/summary", response={200: PnlSummaryOut, **ANSWERS}, url_name="pnl_summary", operation_id="pnl_summary")
def pnl_summary(request: HttpRequest, selected: Query[RangeIn]):
    """Over [start, end); either bound may be left out."""
    return _missing(selected) or pnl_selectors.pnl_summary(
        trader_id=selected.trader_id, account_id=selected.account_id, start=selected.start, end=selected.end
    )


@router.get(
    "/timeseries",
    response={200: list[EquityPointOut], **ANSWERS},
    url_name="pnl_timeseries",
    operation_id="pnl_timeseries",
)
def pnl_timeseries(request: HttpRequest, selected: Query[SeriesIn]):
    """Equity and drawdown from the snapshots, one point per interval, oldest first."""
    return _missing(selected) or pnl_selectors.equity_series(
        trader_id=selected.trader_id,
        account_id=selected.account_id,
        start=selected.start,
        end=selected.end,
        interval=selected.interval,
    )
