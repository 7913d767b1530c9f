"""API shapes every router shares: bounded integers, the base of request bodies, the error answers.

The error schemas describe exactly what tradeops.api's exception handlers send, so the OpenAPI
document promises what clients get.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.http import HttpRequest
from django.utils.datastructures import MultiValueDict
from ninja import Field, Schema
from ninja.errors import ValidationError
from ninja.parser import Parser
from ninja.schema import DjangoGetter
from pydantic import ValidationInfo, field_validator, model_validator
from pydantic.json_schema import models_json_schema
from pydantic_core import PydanticCustomError

from apps.core.times import EARLIEST, LATEST, as_utc_within

# The widest integer column (PostgreSQL bigint, SQLite INTEGER). A larger number in a query, path or
# body would overflow in the database driver; bounding it here answers 422 instead.
MAX_DB_INT = 2**63 - 1
COMPONENT_REF = "#/components/schemas/{model}"

RowId = Annotated[int, Field(ge=1, le=MAX_DB_INT, description="A row id.")]
"""A primary key as clients send it: in a path, a filter or a body."""


NUL_MESSAGE = "must not contain a NUL character (\\u0000): no database text column can store it"


def nul_path(value: Any, path: str = "") -> str | None:
    """Where in a parsed JSON value a string holds a NUL character ("" for the value itself), or None.

    PostgreSQL refuses NUL in text, so such a value would fail in the database, as a server error."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found = nul_path(item, f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}" if path else str(key))
        if found is not None:
            return found
    return None


class InputSchema(Schema):
    """Base of request bodies: the body must be a JSON object, and its text free of NUL characters.

    ninja reads a schema's fields as attributes of whatever it is given, so without this a body of
    `false` or `[]` would read as "every field left out" and a PATCH would answer 200.
    """

    @model_validator(mode="before")
    @classmethod
    def _an_object(cls, data: Any) -> Any:
        # ninja's own validator runs first and hands over its attribute reader (DjangoGetter).
        sent = data._obj if isinstance(data, DjangoGetter) else data
        if not isinstance(sent, dict):
            raise PydanticCustomError("object_type", "must be a JSON object")
        where = nul_path(sent)
        if where is not None:
            raise PydanticCustomError("nul_character", "{field} " + NUL_MESSAGE, {"field": where})
        return data


class PendingChangesOut(Schema):
    """202: saved, except the part that waits for a second admin (four-eyes approval)."""

    detail: str
    id: int = Field(description="The row written (without the part that waits).")
    change_requests: list[int] = Field(description="The change requests filed; approve on /api/v1/approvals.")


class ErrorOut(Schema):
    detail: str


class FieldErrorOut(Schema):
    loc: list[str | int] = Field(description='Where: ["body", "payload", "name"], ["query", "offset"], ...')
    msg: str
    path: str | None = Field(None, description="Strategy specs only: the place inside the spec, e.g. entry.long.")


class ValidationErrorOut(Schema):
    """Every 422: one entry per problem."""

    detail: list[FieldErrorOut]


class UsedByOut(Schema):
    model: str
    count: int


class InUseOut(Schema):
    """A 409 for a delete refused because other records still use the row; nothing was deleted."""

    detail: str
    used_by: list[UsedByOut]


def document_error_answers(openapi: dict[str, Any]) -> None:
    """Add to every operation of an OpenAPI document the errors ninja answers without the endpoint
    declaring them: 401 and 403 from the auth, 429 from the rate limits (with Retry-After), and 422
    (ValidationErrorOut) wherever the request carries parameters or a body. What an endpoint declares
    itself is kept."""
    mapping, definitions = models_json_schema(
        [(ErrorOut, "serialization"), (ValidationErrorOut, "serialization")], ref_template=COMPONENT_REF
    )
    components = openapi.setdefault("components", {}).setdefault("schemas", {})
    for name, definition in definitions.get("$defs", {}).items():
        components.setdefault(name, definition)
    error, invalid = mapping[(ErrorOut, "serialization")], mapping[(ValidationErrorOut, "serialization")]
    for operations in openapi.get("paths", {}).values():
        for operation in operations.values():
            answers = operation.setdefault("responses", {})
            added: dict[int, tuple[str, dict[str, Any]]] = {}
            if operation.get("security"):
                added[401] = ("Not logged in", error)
                added[403] = ("The role is too low, or the user has none", error)
                added[429] = ("Too many requests: wait the Retry-After header's seconds", error)
            if operation.get("parameters") or operation.get("requestBody"):
                added[422] = ("Invalid input: one entry per problem", invalid)
            for status, (description, reference) in added.items():
                # ninja keys the answers by the status as a number; JSON turns both into strings.
                answers.setdefault(
                    status, {"description": description, "content": {"application/json": {"schema": reference}}}
                )


class TextSafeParser(Parser):
    """ninja's parser, refusing query parameters with a NUL character (422 naming the parameter)
    before they reach a database filter. Bodies are checked by InputSchema."""

    def parse_querydict(self, data: MultiValueDict, list_fields: list[str], request: HttpRequest) -> dict[str, Any]:
        parsed = super().parse_querydict(data, list_fields, request)
        refused = [name for name, value in parsed.items() if nul_path(value) is not None]
        if refused:
            raise ValidationError([{"loc": ["query", name], "msg": NUL_MESSAGE} for name in refused])
        return parsed


DATE_BOUNDS = {"earliest": f"{EARLIEST:%Y-%m-%d}", "latest": f"{LATEST:%Y-%m-%d}"}


def utc_time_in(moment: datetime | None) -> datetime | None:
    """An API time in UTC, within the years a stored row can have; a 422 naming the field otherwise
    (PostgreSQL refuses some offsets, such as +23:50, and a converted year 1 has no UTC date)."""
    if moment is None:
        return None
    if (utc := as_utc_within(moment)) is None:
        raise PydanticCustomError("range", "must be from {earliest} to {latest} (UTC)", DATE_BOUNDS)
    return utc


class TimeRangeIn(Schema):
    """Filters with `since` and `until` (declared by each subclass): read as UTC, within the years a
    stored row can have (an offset at year 1 or 9999 would fall outside any date, and PostgreSQL
    refuses some offsets), `until` after `since`."""

    @field_validator("since", "until", check_fields=False)
    @classmethod
    def _in_utc(cls, moment: datetime | None) -> datetime | None:
        return utc_time_in(moment)

    @field_validator("until", check_fields=False)
    @classmethod
    def _after_since(cls, until: datetime | None, info: ValidationInfo) -> datetime | None:
        since = info.data.get("since")
        if until is not None and since is not None and until <= since:
            raise PydanticCustomError("range", "must be after since")
        return until
