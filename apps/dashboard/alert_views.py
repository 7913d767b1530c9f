"""The alert history (/alerts/history/), the rules (/alerts/rules/) and the channels
(/alerts/channels/). Anyone signed in reads the history and the rules; admins change the rules
and manage the channels, whose URLs are never shown (only their fingerprints)."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.core.errors import ServiceValidationError
from apps.core.paging import paged
from apps.core.roles import Role, has_role, role_required
from apps.dashboard.forms import AlertChannelForm, AlertRuleForm

# Alerts belong to the money-moving path's app; every change goes through its services.
from apps.traders import selectors
from apps.traders.models import Alert, AlertChannel, AlertDelivery
from apps.traders.services import notify
from apps.traders.services.alerts import alert_rule_update

HISTORY_PER_PAGE = 50
STATES = {"open": "Open", "acknowledged": "Acknowledged"}


@require_GET
def alert_history(request: HttpRequest) -> HttpResponse:
    """Every alert with its deliveries, filtered by kind, level, state and delivery status."""
    filters = selectors.AlertHistoryFilters(
        kind=_choice(request, "kind", Alert.Kind.values),
        level=_choice(request, "level", Alert.Level.values),
        state=_choice(request, "state", list(STATES)),
        delivery=_choice(request, "delivery", AlertDelivery.Status.values),
    )
    context = {
        "filters": filters,
        "kinds": Alert.Kind.choices,
        "levels": Alert.Level.choices,
        "states": STATES.items(),
        "delivery_statuses": AlertDelivery.Status.choices,
        **paged(request, selectors.alert_history(filters=filters), per_page=HISTORY_PER_PAGE),
    }
    return render(request, "dashboard/alert_history.html", context)


def _choice(request: HttpRequest, name: str, allowed: list[str]) -> str:
    """The filter's value, or no filter for an empty or unknown one."""
    value = request.GET.get(name, "")
    return value if value in allowed else ""


# --- rules ---------------------------------------------------------------------------------------------


@require_GET
def alert_rules(request: HttpRequest) -> HttpResponse:
    rows = [(rule, AlertRuleForm.for_rule(rule)) for rule in selectors.alert_rule_list()]
    return render(request, "dashboard/alert_rules.html", {"rows": rows, "can_edit": has_role(request.user, Role.ADMIN)})


@require_POST
@role_required(Role.ADMIN)
def alert_rule_edit(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in Alert.Kind.values:
        raise Http404(f"There is no alert kind {kind!r}.")
    form = AlertRuleForm(request.POST, kind=kind)
    if form.is_valid():
        try:
            alert_rule_update(kind=kind, **form.cleaned_data)
        except ServiceValidationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            return redirect("alert_rules")
    rows = [(rule, form if rule.kind == kind else AlertRuleForm.for_rule(rule)) for rule in selectors.alert_rule_list()]
    return render(request, "dashboard/alert_rules.html", {"rows": rows, "can_edit": True}, status=422)


# --- channels ------------------------------------------------------------------------------------------


def _channel(pk: int) -> AlertChannel:
    channel = selectors.alert_channel_get(channel_id=pk)
    if channel is None:
        raise Http404(f"There is no alert channel {pk}.")
    return channel


def _channels_page(
    request: HttpRequest, *, tested: AlertChannel | None = None, error: str | None = None
) -> HttpResponse:
    context = {"channels": selectors.alert_channel_list(), "tested": tested, "test_error": error}
    return render(request, "dashboard/alert_channels.html", context)


@require_GET
@role_required(Role.ADMIN)
def alert_channel_list(request: HttpRequest) -> HttpResponse:
    return _channels_page(request)


def _channel_values(form: AlertChannelForm) -> tuple[dict[str, Any], dict[str, Any]]:
    data = form.cleaned_data
    changes = {field: data[field] for field in ("name", "enabled", "min_level", "kinds")}
    return changes, ({"url": data["url"]} if data["url"] else {})


def _channel_form_page(request: HttpRequest, form: AlertChannelForm, channel: AlertChannel | None) -> HttpResponse:
    status = 422 if form.errors else 200
    return render(request, "dashboard/alert_channel_form.html", {"form": form, "channel": channel}, status=status)


@require_http_methods(["GET", "POST"])
@role_required(Role.ADMIN)
def alert_channel_create(request: HttpRequest) -> HttpResponse:
    form = AlertChannelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        changes, secrets = _channel_values(form)
        try:
            notify.alert_channel_create(**changes, secrets=secrets)
        except ServiceValidationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            return redirect("alert_channel_list")
    return _channel_form_page(request, form, None)


@require_http_methods(["GET", "POST"])
@role_required(Role.ADMIN)
def alert_channel_edit(request: HttpRequest, pk: int) -> HttpResponse:
    channel = _channel(pk)
    form = AlertChannelForm(request.POST or None, channel=channel)
    if request.method == "POST" and form.is_valid():
        changes, secrets = _channel_values(form)
        try:
            notify.alert_channel_update(channel=channel, changes=changes, secrets=secrets)
        except ServiceValidationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            return redirect("alert_channel_list")
    return _channel_form_page(request, form, channel)


@require_POST
@role_required(Role.ADMIN)
def alert_channel_delete(request: HttpRequest, pk: int) -> HttpResponse:
    notify.alert_channel_delete(channel=_channel(pk))
    return redirect("alert_channel_list")


@require_POST
@role_required(Role.ADMIN)
def alert_channel_test(request: HttpRequest, pk: int) -> HttpResponse:
    """Send a test notification now and show whether it arrived."""
    channel = _channel(pk)
    return _channels_page(request, tested=channel, error=notify.alert_channel_test(channel=channel))
