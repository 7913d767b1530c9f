"""/api/v1/strategies: reads for every role; writes (create, edit, delete, toggle) for operators,
checked before the body is read.

A spec that does not validate is answered with 422 and one entry per problem, each naming the
path inside the spec, so a client can point at the exact rule; nothing is stored.
"""

# No `from __future__ import annotations` here (as in apps/core/crud.py): ninja's pagination
# wrapper hides this module's globals, so a string annotation such as Query[StrategyFilters]
# could not be resolved when the endpoint is built.
from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from apps.core.auth import OPERATOR
from apps.core.crud import plain_values
from apps.core.paging import Pagination
from apps.core.schemas import ErrorOut, InputSchema, InUseOut, RowId, ValidationErrorOut
from apps.market.timeframes import TIMEFRAME_MS
from apps.strategies import selectors, services
from apps.strategies.models import Strategy

DETAIL_HISTORY = 5
NAME_MAX_LENGTH = services.NAME_MAX_LENGTH
Timeframe = Literal[tuple(TIMEFRAME_MS)]  # type: ignore[valid-type]

router = Router(tags=["strategies"])


class StrategyOut(Schema):
    id: int
    name: str
    description: str
    spec: dict[str, Any]
    enabled: bool
    version: int
    cooldown_bars: int
    timeframe: str | None
    markets: list[str]
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_timeframe(obj: Strategy) -> str | None:
        return obj.spec.get("timeframe") if isinstance(obj.spec, dict) else None

    @staticmethod
    def resolve_markets(obj: Strategy) -> list[str]:
        return list(obj.spec.get("markets", [])) if isinstance(obj.spec, dict) else []


class HistoryEntryOut(Schema):
    history_id: int
    version: int
    change: Literal["created", "changed", "deleted"]
    user: str | None
    date: datetime
    reason: str


class StrategyDetailOut(StrategyOut):
    """With the newest few history entries; the full history is on the page and in the admin."""

    history: list[HistoryEntryOut]

    @staticmethod
    def resolve_history(obj: Strategy) -> list[selectors.HistoryEntry]:
        return selectors.strategy_history(strategy=obj, limit=DETAIL_HISTORY)


class StrategyIn(InputSchema):
    name: str = Field(min_length=1, max_length=NAME_MAX_LENGTH)
    description: str = ""
    spec: dict[str, Any]
    enabled: bool = False


class StrategyPatch(InputSchema):
    """Fields left out stay as they are. `expected_version` refuses the write if the spec changed meanwhile."""

    name: str | None = Field(None, min_length=1, max_length=NAME_MAX_LENGTH)
    description: str | None = None
    spec: dict[str, Any] | None = None
    enabled: bool | None = None
    expected_version: int | None = Field(None, ge=1)


class ToggleIn(InputSchema):
    """`enabled` sets the state; left out (or null) flips it."""

    enabled: bool | None = None


class FromPresetIn(InputSchema):
    preset: str
    name: str | None = Field(None, min_length=1, max_length=NAME_MAX_LENGTH)
    timeframe: str = "1h"
    markets: list[str]


class ValidateIn(InputSchema):
    spec: Any


class SpecErrorOut(Schema):
    path: str
    message: str


class ValidateOut(Schema):
    valid: bool
    errors: list[SpecErrorOut]


class PresetOut(Schema):
    name: str
    description: str
    spec: dict[str, Any]


class StrategyFilters(Schema):
    enabled: bool | None = None
    timeframe: Timeframe | None = None
    search: str | None = None
    ordering: Literal[selectors.ORDERINGS] = "name"  # type: ignore[valid-type]


@router.get("", response=list[StrategyOut], url_name="strategy_list")
@paginate(Pagination)
def strategy_list(request: HttpRequest, filters: Query[StrategyFilters]):
    return selectors.strategy_list(**filters.dict())


@router.get("/presets", response=list[PresetOut], url_name="strategy_presets")
def preset_list(request: HttpRequest):
    return selectors.preset_list()


@router.post("/validate", response=ValidateOut, url_name="strategy_validate")
def strategy_validate(request: HttpRequest, payload: ValidateIn):
    """Check a spec without storing anything; open to every role."""
    _spec, errors = selectors.spec_validate(data=payload.spec)
    return {"valid": not errors, "errors": [{"path": error.path, "message": error.message} for error in errors]}


# A spec that does not validate raises StrategySpecInvalid: tradeops.api answers 422 with one entry
# per problem, each with its path inside the spec.
@router.post(
    "/from-preset",
    response={201: StrategyOut, 422: ValidationErrorOut},
    auth=OPERATOR,
    url_name="strategy_from_preset",
)
def strategy_from_preset(request: HttpRequest, payload: FromPresetIn):
    return Status(201, services.strategy_from_preset(**payload.dict()))


@router.post("", response={201: StrategyOut, 422: ValidationErrorOut}, auth=OPERATOR, url_name="strategy_create")
def strategy_create(request: HttpRequest, payload: StrategyIn):
    return Status(201, services.strategy_create(**payload.dict()))


@router.get("/{strategy_id}", response={200: StrategyDetailOut, 404: ErrorOut}, url_name="strategy_detail")
def strategy_detail(request: HttpRequest, strategy_id: RowId):
    return get_object_or_404(Strategy, pk=strategy_id)


@router.patch(
    "/{strategy_id}",
    response={200: StrategyDetailOut, 404: ErrorOut, 422: ValidationErrorOut},
    auth=OPERATOR,
    url_name="strategy_update",
)
def strategy_update(request: HttpRequest, strategy_id: RowId, payload: StrategyPatch):
    strategy = get_object_or_404(Strategy, pk=strategy_id)
    expected_version = payload.expected_version
    changes = plain_values(payload, model=Strategy, exclude=("expected_version",), include_defaults=False)
    return services.strategy_update(strategy=strategy, changes=changes, expected_version=expected_version)


@router.delete(
    "/{strategy_id}", response={204: None, 404: ErrorOut, 409: InUseOut}, auth=OPERATOR, url_name="strategy_delete"
)
def strategy_delete(request: HttpRequest, strategy_id: RowId):
    services.strategy_delete(strategy=get_object_or_404(Strategy, pk=strategy_id))
    return Status(204, None)


@router.post(
    "/{strategy_id}/toggle",
    response={200: StrategyOut, 404: ErrorOut, 422: ValidationErrorOut},
    auth=OPERATOR,
    url_name="strategy_toggle",
)
def strategy_toggle(request: HttpRequest, strategy_id: RowId, payload: ToggleIn | None = None):
    strategy = get_object_or_404(Strategy, pk=strategy_id)
    return services.strategy_toggle(strategy=strategy, enabled=payload.enabled if payload is not None else None)
