"""The overview (/) and the alerts page (/alerts/), where operators acknowledge what the banner shows."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from apps.core.paging import paged
from apps.core.roles import Role, role_required
from apps.dashboard import selectors

# Alerts belong to the money-moving path; acknowledging goes through its service.
from apps.traders.selectors import alert_get
from apps.traders.services.alerts import alert_acknowledge as alert_acknowledge_service

ALERTS_PER_PAGE = 50


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/home.html", {"overview": selectors.overview()})


@require_GET
def alert_list(request: HttpRequest) -> HttpResponse:
    acknowledged = request.GET.get("acknowledged") == "1"
    alerts = selectors.alert_acknowledged_list() if acknowledged else selectors.alert_open_list()
    context = {"acknowledged": acknowledged, **paged(request, alerts, per_page=ALERTS_PER_PAGE)}
    return render(request, "dashboard/alert_list.html", context)


@require_POST
@role_required(Role.OPERATOR)
def alert_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    alert = alert_get(alert_id=pk)
    if alert is None:
        raise Http404(f"There is no alert {pk}.")
    # Acknowledging twice (two operators, a double click) keeps the first acknowledgement.
    alert_acknowledge_service(alert=alert, user=request.user)
    return redirect("alert_list")
