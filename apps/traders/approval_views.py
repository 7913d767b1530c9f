"""The pending-changes pages, /approvals/ (four-eyes): every role reads what waits and what was decided;
admins approve or reject (a confirmation page with a reason), never their own request; the requester
may cancel theirs. The services check all of it again."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.core.errors import ServiceValidationError
from apps.core.paging import paged
from apps.core.roles import Role, role_required
from apps.traders import selectors
from apps.traders.models import ChangeRequest
from apps.traders.services import approvals
from apps.traders.services.errors import TradeConflict, TradeRefused

HISTORY_PAGE_SIZE = 25
DECISIONS = {"approve": approvals.change_request_approve, "reject": approvals.change_request_reject}


@require_GET
def approval_list(request: HttpRequest) -> HttpResponse:
    decided = selectors.change_request_list().exclude(status=ChangeRequest.Status.PENDING)
    context = paged(request, decided, per_page=HISTORY_PAGE_SIZE)
    context["pending"] = selectors.change_request_list(status=ChangeRequest.Status.PENDING)
    return render(request, "traders/approval_list.html", context)


@require_http_methods(["GET", "POST"])
@role_required(Role.ADMIN)
def approval_decide(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """GET asks for confirmation (the diff and a reason); only a POST with confirm=yes decides."""
    change = get_object_or_404(selectors.change_request_list(), pk=pk)
    if action not in DECISIONS:
        return redirect("approvals:list")
    error, reason = None, request.POST.get("reason", "")
    if request.method == "POST" and request.POST.get("confirm") == "yes":
        try:
            decided = DECISIONS[action](change_request=change, user=request.user, reason=reason)
        except ServiceValidationError as exc:
            error = f"{exc.field}: {exc.message}"
        except (TradeConflict, TradeRefused) as exc:
            error = str(exc)
        else:
            level = messages.SUCCESS if decided.status != ChangeRequest.Status.FAILED else messages.ERROR
            messages.add_message(request, level, f"Change request #{decided.pk} {decided.status}. {decided.result}")
            return redirect("approvals:list")
    context = {"change": change, "action": action, "error": error, "reason": reason}
    return render(request, "traders/approval_confirm.html", context, status=422 if error else 200)


@require_POST
@role_required(Role.OPERATOR)
def approval_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    change = get_object_or_404(ChangeRequest, pk=pk)
    try:
        approvals.change_request_cancel(change_request=change, user=request.user, reason=request.POST.get("reason", ""))
    except (TradeConflict, TradeRefused, ServiceValidationError) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Change request #{change.pk} cancelled.")
    return redirect("approvals:list")
