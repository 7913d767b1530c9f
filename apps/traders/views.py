"""The /risk/ page: the global kill switch, every trader's halt and the latest halt events.

Every role reads; halting, resetting and the kill switch need the operator role, checked here (the
templates only hide the forms). HTMX swaps one partial per target; after a change the response
triggers `kill-switch-changed` / `halt-events-changed` so the other parts reload themselves.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from apps.core.errors import ServiceValidationError
from apps.core.paging import paged
from apps.core.roles import Role, role_required
from apps.traders import selectors, services
from apps.traders.models import Trader

EVENTS_PER_PAGE = 20
KILL_SWITCH_CHANGED = "kill-switch-changed"
HALT_EVENTS_CHANGED = "halt-events-changed"


def _row(trader: Trader, *, error: str | None = None, reason: str = "") -> dict[str, Any]:
    return {
        "trader": trader,
        "state": selectors.trader_risk_state_get(trader=trader),
        "error": error,
        "reason": reason,
    }


def _trader_rows(errors: dict[int, tuple[str, str]] | None = None) -> list[dict[str, Any]]:
    errors = errors or {}
    rows = []
    for trader in selectors.trader_list():
        error, reason = errors.get(trader.pk, (None, ""))
        rows.append(_row(trader, error=error, reason=reason))
    return rows


def _events_context(request: HttpRequest) -> dict[str, Any]:
    return paged(request, selectors.halt_event_list(), per_page=EVENTS_PER_PAGE)


def _page(
    request: HttpRequest,
    *,
    switch_error: str | None = None,
    switch_reason: str = "",
    row_errors: dict[int, tuple[str, str]] | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "switch": selectors.kill_switch_get(),
        "switch_error": switch_error,
        "switch_reason": switch_reason,
        "rows": _trader_rows(row_errors),
        **_events_context(request),
    }
    return render(request, "traders/kill_switch.html", context, status=status)


@require_GET
def kill_switch(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_GET
def trader_table(request: HttpRequest) -> HttpResponse:
    context = {"switch": selectors.kill_switch_get(), "rows": _trader_rows()}
    return render(request, "traders/_trader_table.html", context)


@require_GET
def halt_events(request: HttpRequest) -> HttpResponse:
    return render(request, "traders/_halt_events.html", _events_context(request))


def _switch_change(request: HttpRequest, *, engage: bool) -> HttpResponse:
    reason = request.POST.get("reason", "")
    change = services.kill_switch_engage if engage else services.kill_switch_release
    try:
        change(user=request.user, reason=reason)
    except ServiceValidationError as exc:
        if request.htmx:
            # 200, so htmx swaps the form back in with the message and the reason as typed.
            context = {"switch": selectors.kill_switch_get(), "switch_error": exc.message, "switch_reason": reason}
            return render(request, "traders/_kill_switch.html", context)
        return _page(request, switch_error=exc.message, switch_reason=reason, status=422)
    if not request.htmx:
        return redirect("traders:kill_switch")
    response = render(request, "traders/_kill_switch.html", {"switch": selectors.kill_switch_get()})
    trigger_client_event(response, KILL_SWITCH_CHANGED)
    trigger_client_event(response, HALT_EVENTS_CHANGED)
    return response


@require_POST
@role_required(Role.OPERATOR)
def kill_switch_engage(request: HttpRequest) -> HttpResponse:
    return _switch_change(request, engage=True)


@require_POST
@role_required(Role.OPERATOR)
def kill_switch_release(request: HttpRequest) -> HttpResponse:
    return _switch_change(request, engage=False)


def _trader_change(request: HttpRequest, pk: int, *, reset: bool) -> HttpResponse:
    trader = get_object_or_404(Trader, pk=pk)
    reason = request.POST.get("reason", "")
    error = None
    try:
        if reset:
            services.trader_halt_reset(trader=trader, user=request.user, reason=reason)
        else:
            services.trader_halt(trader=trader, user=request.user, reason=reason)
    except ServiceValidationError as exc:
        error = f"{exc.field}: {exc.message}" if exc.field == "reason" else exc.message
    if not request.htmx:
        if error:
            return _page(request, row_errors={trader.pk: (error, reason)}, status=422)
        return redirect("traders:kill_switch")
    trader = get_object_or_404(selectors.trader_list(), pk=pk)
    context = {"row": _row(trader, error=error, reason=reason if error else ""), "switch": selectors.kill_switch_get()}
    response = render(request, "traders/_trader_row.html", context)
    if not error:
        trigger_client_event(response, HALT_EVENTS_CHANGED)
    return response


@require_POST
@role_required(Role.OPERATOR)
def trader_halt(request: HttpRequest, pk: int) -> HttpResponse:
    return _trader_change(request, pk, reset=False)


@require_POST
@role_required(Role.OPERATOR)
def trader_reset(request: HttpRequest, pk: int) -> HttpResponse:
    return _trader_change(request, pk, reset=True)
