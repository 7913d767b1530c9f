"""One way to expose a configuration model over the API: list (filters, pagination), detail,
create, partial update and delete; reads for every role, writes for admins only.

The endpoints stay thin: the auth checks the role (before the body is read), the schemas parse,
one service writes. A delete refused because other records use the row answers 409 (tradeops.api).
"""

# No `from __future__ import annotations` here: ninja reads the endpoint annotations at runtime,
# and they name this function's local `spec`, which a string annotation could not resolve.
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema, Status
from ninja.pagination import paginate

from apps.core.auth import ADMIN
from apps.core.deletion import delete_unless_used
from apps.core.errors import ServiceValidationError
from apps.core.paging import Pagination
from apps.core.pending import pending_of
from apps.core.schemas import ErrorOut, InUseOut, PendingChangesOut, RowId

# Reads a payload's write-only fields into what the services take (apps.secrets.schemas.secret_inputs).
# Core is below every domain app, so the routers whose models own secrets hand it in.
SecretReader = Callable[[Schema, tuple[str, ...]], dict[str, Any]]


def _no_secrets(payload: Schema, fields: tuple[str, ...]) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class CrudSpec:
    model: type[Model]
    out: type[Schema]
    create_in: type[Schema]
    patch_in: type[Schema]
    filters: type[Schema]
    select: Callable[..., QuerySet]
    create: Callable[..., Model]
    update: Callable[..., Model]
    delete: Callable[..., None]
    secret_fields: tuple[str, ...] = ()
    read_secrets: SecretReader = _no_secrets
    # Writes that may wait for a second admin (apps.core.pending): the services get the user, and a row
    # with a part held back answers 202 with the change requests filed.
    four_eyes: bool = False

    def __post_init__(self) -> None:
        if self.secret_fields and self.read_secrets is _no_secrets:
            raise TypeError(f"{self.model.__name__}: secret_fields need read_secrets to read them")


def _nullable(model: type[Model], field: str) -> bool:
    try:
        return bool(model._meta.get_field(field).null)
    except FieldDoesNotExist:
        return False


def plain_values(
    payload: Schema, *, model: type[Model], exclude: tuple[str, ...], include_defaults: bool
) -> dict[str, Any]:
    """The payload's values; null only where the column is nullable (null clears it, e.g. a limit)."""
    values = payload.model_dump(exclude_unset=not include_defaults, exclude=set(exclude))
    for field, value in values.items():
        if value is None and not _nullable(model, field):
            raise ServiceValidationError(field, "may not be null")
    return values


def pending_answer(row: Any, *, row_id: int | None = None) -> Status | None:
    """202 when the service held part of the write back for a second admin (the rest is saved); None when
    everything was applied. `row_id`: the id to report when `row` is not the addressed row itself."""
    requests = pending_of(row)
    if not requests:
        return None
    listed = ", ".join(f"#{request.pk}" for request in requests)
    detail = f"Saved, except what waits for a second admin: change request {listed} (see /api/v1/approvals)."
    ids = [request.pk for request in requests]
    return Status(202, {"detail": detail, "id": row.pk if row_id is None else row_id, "change_requests": ids})


def crud_router(spec: CrudSpec, *, tags: list[str]) -> Router:
    router = Router(tags=tags)
    name = spec.model._meta.model_name

    @router.get("", response=list[spec.out], url_name=f"{name}_list", operation_id=f"{name}_list")
    @paginate(Pagination)
    def list_rows(request: HttpRequest, filters: Query[spec.filters]):  # type: ignore[valid-type]
        return spec.select(**filters.dict())

    @router.get(
        "/{row_id}", response={200: spec.out, 404: ErrorOut}, url_name=f"{name}_detail", operation_id=f"{name}_detail"
    )
    def get_row(request: HttpRequest, row_id: RowId):
        return get_object_or_404(spec.select(), pk=row_id)

    def requester(request: HttpRequest) -> dict[str, Any]:
        return {"user": request.user} if spec.four_eyes else {}

    @router.post(
        "",
        response={201: spec.out, 202: PendingChangesOut},
        auth=ADMIN,
        url_name=f"{name}_create",
        operation_id=f"{name}_create",
    )
    def create_row(request: HttpRequest, payload: spec.create_in):  # type: ignore[valid-type]
        fields = plain_values(payload, model=spec.model, exclude=spec.secret_fields, include_defaults=True)
        row = spec.create(**fields, secrets=spec.read_secrets(payload, spec.secret_fields), **requester(request))
        return pending_answer(row) or Status(201, row)

    @router.patch(
        "/{row_id}",
        response={200: spec.out, 202: PendingChangesOut, 404: ErrorOut},
        auth=ADMIN,
        url_name=f"{name}_update",
        operation_id=f"{name}_update",
    )
    def update_row(request: HttpRequest, row_id: RowId, payload: spec.patch_in):  # type: ignore[valid-type]
        row = get_object_or_404(spec.model, pk=row_id)
        changes = plain_values(payload, model=spec.model, exclude=spec.secret_fields, include_defaults=False)
        row = spec.update(
            row, changes=changes, secrets=spec.read_secrets(payload, spec.secret_fields), **requester(request)
        )
        return pending_answer(row) or row

    @router.delete(
        "/{row_id}",
        response={204: None, 404: ErrorOut, 409: InUseOut},
        auth=ADMIN,
        url_name=f"{name}_delete",
        operation_id=f"{name}_delete",
    )
    def delete_row(request: HttpRequest, row_id: RowId):
        row = get_object_or_404(spec.model, pk=row_id)
        delete_unless_used(row, lambda: spec.delete(row))
        return Status(204, None)

    return router
