"""Four-eyes in tests that are about something else: approve what waits, as a second admin."""

from __future__ import annotations

from typing import Any

from apps.core.pending import pending_of
from apps.traders.models import ChangeRequest
from apps.traders.services.approvals import change_request_approve
from tests.factories import UserFactory


def approve_pending() -> list[ChangeRequest]:
    """Approve every pending change request as a fresh admin (never the requester); returns them decided.
    Fails the test when one does not apply."""
    approver = UserFactory(role="admin")
    decided = [
        change_request_approve(change_request=request, user=approver)
        for request in ChangeRequest.objects.filter(status=ChangeRequest.Status.PENDING).order_by("pk")
    ]
    failed = [request.result for request in decided if request.status != ChangeRequest.Status.APPROVED]
    assert not failed, failed
    return decided


def approved(row: Any) -> Any:
    """The row a service returned, with the requests it filed instead of applying approved by a second
    admin, reloaded. For tests that need a live account, a live trader or a raised limit."""
    approver = UserFactory(role="admin")
    for request in pending_of(row):
        decided = change_request_approve(change_request=request, user=approver)
        assert decided.status == ChangeRequest.Status.APPROVED, decided.result
    row.refresh_from_db()
    return row
