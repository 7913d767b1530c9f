"""The dashboard (/) with its panels (/panels/<name>/), and the alerts page (/alerts/), where operators
acknowledge what the banner shows."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from apps.core.paging import paged
from apps.core.roles import Role, role_required, user_role
from apps.dashboard import selectors
from apps.dashboard.panels import PANELS, panel_data, panel_html

# Alerts belong to the money-moving path; acknowledging goes through its service.
from apps.traders.selectors import alert_get
from apps.traders.services.alerts import alert_acknowledge as alert_acknowledge_service

ALERTS_PER_PAGE = 50


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    role, token = user_role(request.user), get_token(request)
    data = panel_data(tuple(PANELS))
    panels = {name: panel_html(name, context, role=role, csrf_token=token) for name, context in data.items()}
    context = {"panels": panels, "equity_points": selectors.dashboard_equity_points()}
    return render(request, "dashboard/home.html", context)


@require_GET
def panel(request: HttpRequest, name: str) -> HttpResponse:
    """One panel alone: what its own refresh and the ack button swap in."""
    if name not in PANELS:
        raise Http404(f"There is no dashboard panel {name!r}.")
    return _panel_response(request, name)


def _panel_response(request: HttpRequest, name: str) -> HttpResponse:
    html = panel_html(name, PANELS[name].read(), role=user_role(request.user), csrf_token=get_token(request))
    return HttpResponse(html)


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
    if request.htmx:  # the dashboard's button: its panel, without the acknowledged alert
        return _panel_response(request, "alerts")
    return redirect("alert_list")
