"""Four-eyes approval over the API: /approvals. Every role reads the requests (what waits, what was
decided, with the diff); admins approve or reject (never their own); the requester cancels theirs.
A refusal answers 403 (not an admin, your own request), a request no longer pending 409."""

# No `from __future__ import annotations`: ninja reads the endpoints' Query[...] annotations at runtime.

from datetime import datetime

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from apps.core.auth import ADMIN, OPERATOR
from apps.core.paging import Pagination
from apps.core.schemas import ErrorOut, InputSchema, RowId
from apps.traders import selectors
from apps.traders.models import ChangeRequest
from apps.traders.services import approvals

REASON_MAX = ChangeRequest._meta.get_field("reason").max_length


class ChangeOut(Schema):
    field: str
    before: str = Field(description="As a person reads it (names, decimals as text).")
    after: str


class ChangeRequestOut(Schema):
    id: int
    kind: ChangeRequest.Kind
    kind_label: str
    target_type: ChangeRequest.Target
    target_id: int
    target_name: str
    changes: list[ChangeOut]
    note: str = Field(description="The requester's reason.")
    requested_by: str | None
    created_at: datetime
    status: ChangeRequest.Status
    decided_by: str | None
    decided_at: datetime | None
    reason: str = Field(description="The decider's reason.")
    result: str = Field(description="What approving applied, or why it failed.")

    @staticmethod
    def resolve_kind_label(obj: ChangeRequest) -> str:
        return obj.get_kind_display()

    @staticmethod
    def resolve_changes(obj: ChangeRequest) -> list[dict[str, str]]:
        return obj.diff()

    @staticmethod
    def resolve_requested_by(obj: ChangeRequest) -> str | None:
        return obj.requested_by.get_username() if obj.requested_by else None

    @staticmethod
    def resolve_decided_by(obj: ChangeRequest) -> str | None:
        return obj.decided_by.get_username() if obj.decided_by else None


class ApprovalFilters(Schema):
    status: ChangeRequest.Status | None = Field(None, description="pending: what waits for a second admin.")


class DecisionIn(InputSchema):
    reason: str = Field("", max_length=REASON_MAX, description="Why; required to reject.")


router = Router(tags=["approvals"])


@router.get("", response=list[ChangeRequestOut], url_name="change_request_list", operation_id="change_request_list")
@paginate(Pagination)
def change_request_list(request: HttpRequest, filters: Query[ApprovalFilters]):
    """Change requests, newest first."""
    return selectors.change_request_list(status=filters.status)


@router.get(
    "/{request_id}",
    response={200: ChangeRequestOut, 404: ErrorOut},
    url_name="change_request_detail",
    operation_id="change_request_detail",
)
def change_request_detail(request: HttpRequest, request_id: RowId):
    return get_object_or_404(selectors.change_request_list(), pk=request_id)


def _decision(action: str, *, auth: list) -> object:
    name = f"change_request_{action}"
    answers = {200: ChangeRequestOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}
    return router.post(f"/{{request_id}}/{action}", response=answers, auth=auth, url_name=name, operation_id=name)


@_decision("approve", auth=ADMIN)
def change_request_approve(request: HttpRequest, request_id: RowId, payload: DecisionIn):
    """Apply the request if its target still holds the values it was made against; else it ends `failed`
    (see `result`) and nothing is applied. Admins only, never the requester."""
    change = get_object_or_404(ChangeRequest, pk=request_id)
    return approvals.change_request_approve(change_request=change, user=request.user, reason=payload.reason)


@_decision("reject", auth=ADMIN)
def change_request_reject(request: HttpRequest, request_id: RowId, payload: DecisionIn):
    """Reject with a reason; nothing changes. Admins only, never the requester."""
    change = get_object_or_404(ChangeRequest, pk=request_id)
    return approvals.change_request_reject(change_request=change, user=request.user, reason=payload.reason)


@_decision("cancel", auth=OPERATOR)
def change_request_cancel(request: HttpRequest, request_id: RowId, payload: DecisionIn):
    """The requester withdraws their own pending request."""
    change = get_object_or_404(ChangeRequest, pk=request_id)
    return approvals.change_request_cancel(change_request=change, user=request.user, reason=payload.reason)
