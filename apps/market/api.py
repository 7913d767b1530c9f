from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Schema

from apps.core.crud import CrudSpec, crud_router
from apps.core.schemas import ErrorOut, InputSchema, RowId
from apps.market import selectors, services
from apps.market.models import MAX_LEVERAGE, ExchangeId, Market, Timeframe

SYMBOL_FIELD = {"min_length": 3, "max_length": 64, "pattern": r"^[A-Z0-9]+/[A-Z0-9]+(:[A-Z0-9]+)?$"}
ASSET_FIELD = {"min_length": 1, "max_length": 20, "pattern": r"^[A-Z0-9]+$"}
STEP_FIELD = {"gt": 0, "max_digits": 30, "decimal_places": 12}
MINIMUM_FIELD = {"ge": 0, "max_digits": 30, "decimal_places": 12}


class MarketOut(Schema):
    id: int
    exchange: ExchangeId
    symbol: str
    base: str
    quote: str
    type: Market.Type
    price_precision: Decimal
    amount_precision: Decimal
    min_amount: Decimal
    min_notional: Decimal
    max_leverage: int | None
    active: bool
    notes: str
    created_at: datetime
    updated_at: datetime


class MarketIn(InputSchema):
    exchange: ExchangeId
    symbol: str = Field(**SYMBOL_FIELD)
    base: str = Field(**ASSET_FIELD)
    quote: str = Field(**ASSET_FIELD)
    type: Market.Type
    price_precision: Decimal = Field(**STEP_FIELD)
    amount_precision: Decimal = Field(**STEP_FIELD)
    min_amount: Decimal = Field(Decimal(0), **MINIMUM_FIELD)
    min_notional: Decimal = Field(Decimal(0), **MINIMUM_FIELD)
    max_leverage: int | None = Field(None, ge=1, le=MAX_LEVERAGE)
    active: bool = True
    notes: str = Field("", max_length=300)


class MarketPatch(InputSchema):
    """Fields left out stay as they are."""

    exchange: ExchangeId | None = None
    symbol: str | None = Field(None, **SYMBOL_FIELD)
    base: str | None = Field(None, **ASSET_FIELD)
    quote: str | None = Field(None, **ASSET_FIELD)
    type: Market.Type | None = None
    price_precision: Decimal | None = Field(None, **STEP_FIELD)
    amount_precision: Decimal | None = Field(None, **STEP_FIELD)
    min_amount: Decimal | None = Field(None, **MINIMUM_FIELD)
    min_notional: Decimal | None = Field(None, **MINIMUM_FIELD)
    max_leverage: int | None = Field(None, ge=1, le=MAX_LEVERAGE)
    active: bool | None = None
    notes: str | None = Field(None, max_length=300)


class MarketFilters(Schema):
    exchange: ExchangeId | None = None
    type: Market.Type | None = None
    active: bool | None = None
    search: str | None = None
    ordering: Literal[selectors.ORDERINGS] = "symbol"  # type: ignore[valid-type]


class CoverageOut(Schema):
    timeframe: Timeframe
    first_open_time: datetime
    last_open_time: datetime
    bars: int
    gaps: int = Field(description="Holes between consecutive bars.")
    source: str | None = Field(description="Source of the latest import.")
    synthetic: bool = Field(description="The latest import was a seeded synthetic series, not market data.")


# Markets own no secrets, so the `secrets` the CRUD router passes is always empty.
router = crud_router(
    CrudSpec(
        model=Market,
        out=MarketOut,
        create_in=MarketIn,
        patch_in=MarketPatch,
        filters=MarketFilters,
        select=selectors.market_list,
        create=lambda secrets, **fields: services.market_create(**fields),
        update=lambda market, changes, secrets: services.market_update(market=market, changes=changes),
        delete=lambda market: services.market_delete(market=market),
    ),
    tags=["markets"],
)


@router.get("/{row_id}/coverage", response={200: list[CoverageOut], 404: ErrorOut}, url_name="market_coverage")
def market_coverage(request: HttpRequest, row_id: RowId) -> list[selectors.Coverage]:
    market = get_object_or_404(Market, pk=row_id)
    return selectors.market_coverage(market_ids=[market.pk]).get(market.pk, [])
