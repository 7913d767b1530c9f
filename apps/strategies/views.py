"""Strategy pages: every role reads; writes need the operator role, checked here (the templates
only hide the buttons)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from apps.core.errors import ServiceValidationError
from apps.core.paging import paged
from apps.core.roles import Role, role_required
from apps.market.timeframes import TIMEFRAME_MS
from apps.strategies import selectors, services
from apps.strategies.forms import StrategyForm, spec_check, spec_text
from apps.strategies.models import Strategy
from apps.strategies.presets import PRESETS, preset_spec_data
from apps.strategies.services import StrategySpecInvalid

PAGE_SIZE = 25
HISTORY_LIMIT = 100
ENABLED_FILTER = {"yes": True, "no": False}
ORDERING_CHOICES = [
    ("name", "name"),
    ("-updated_at", "recently updated"),
    ("-version", "most versions"),
    ("-created_at", "newest"),
]
# A starting point for "blank": every top-level key, so the operator sees the shape to fill in.
BLANK_SPEC = {"indicators": [], "entry": {}, "exit": {}, "timeframe": "1h", "markets": [], "cooldown_bars": 0}


@require_GET
def strategy_list(request: HttpRequest) -> HttpResponse:
    strategies = selectors.strategy_list(
        enabled=ENABLED_FILTER.get(request.GET.get("enabled", "")),
        timeframe=request.GET.get("timeframe") or None,
        search=request.GET.get("q") or None,
        ordering=request.GET.get("ordering", "name"),
    )
    context = paged(request, strategies, per_page=PAGE_SIZE)
    context |= {
        "timeframes": list(TIMEFRAME_MS),
        "orderings": ORDERING_CHOICES,
    }
    template = "strategies/_strategy_table.html" if request.htmx else "strategies/strategy_list.html"
    return render(request, template, context)


@require_GET
def strategy_detail(request: HttpRequest, pk: int) -> HttpResponse:
    strategy = get_object_or_404(Strategy, pk=pk)
    history = selectors.strategy_history(strategy=strategy, limit=HISTORY_LIMIT)
    rows = []
    for position, entry in enumerate(history):
        older = history[position + 1] if position + 1 < len(history) else None
        # Toggles and renames keep the spec; show it only where a version began.
        new_version = older is None or older.version != entry.version or entry.change == "created"
        rows.append({"entry": entry, "spec_json": spec_text(entry.spec) if new_version else None})
    context = {"strategy": strategy, "spec_json": spec_text(strategy.spec), "history": rows}
    return render(request, "strategies/strategy_detail.html", context)


def _form_page(request: HttpRequest, form: StrategyForm, *, strategy: Strategy | None, checked: bool = False) -> Any:
    context = {
        "form": form,
        "strategy": strategy,
        "spec_errors": form.spec_errors,
        "checked": checked,
        "presets": [{"name": name, "description": PRESETS[name]["description"]} for name in sorted(PRESETS)],
    }
    if request.htmx and request.htmx.target == "strategy-form":
        return render(request, "strategies/_strategy_form.html", context)
    return render(request, "strategies/strategy_form.html", context)


def _check_only(request: HttpRequest, strategy: Strategy | None) -> HttpResponse:
    """The "Check" button without JavaScript: the same page back, the input as typed, the problems listed."""
    form = StrategyForm(initial=request.POST.dict() | {"enabled": request.POST.get("enabled") == "on"})
    _data, form.spec_errors = spec_check(request.POST.get("spec", ""))
    return _form_page(request, form, strategy=strategy, checked=True)


def _apply_service_error(form: StrategyForm, exc: ServiceValidationError) -> None:
    if isinstance(exc, StrategySpecInvalid):
        form.set_spec_errors(exc.errors)
    else:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)


@require_http_methods(["GET", "POST"])
@role_required(Role.OPERATOR)
def strategy_create(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        if request.POST.get("action") == "check":
            return _check_only(request, None)
        form = StrategyForm(request.POST)
        if form.is_valid():
            try:
                strategy = services.strategy_create(
                    name=form.cleaned_data["name"],
                    description=form.cleaned_data["description"],
                    spec=form.cleaned_data["spec"],
                    enabled=form.cleaned_data["enabled"],
                )
            except ServiceValidationError as exc:
                _apply_service_error(form, exc)
            else:
                return redirect("strategies:detail", pk=strategy.pk)
        return _form_page(request, form, strategy=None)
    preset = request.GET.get("preset")
    if preset in PRESETS:
        initial = {"name": preset, "description": PRESETS[preset]["description"], "spec": preset_spec_data(preset)}
    else:
        initial = {"spec": BLANK_SPEC}
    form = StrategyForm(initial={**initial, "spec": spec_text(initial["spec"])})
    return _form_page(request, form, strategy=None)


@require_http_methods(["GET", "POST"])
@role_required(Role.OPERATOR)
def strategy_edit(request: HttpRequest, pk: int) -> HttpResponse:
    strategy = get_object_or_404(Strategy, pk=pk)
    if request.method == "POST":
        if request.POST.get("action") == "check":
            return _check_only(request, strategy)
        form = StrategyForm(request.POST)
        if form.is_valid():
            changes = {field: form.cleaned_data[field] for field in services.EDITABLE_FIELDS}
            try:
                services.strategy_update(
                    strategy=strategy, changes=changes, expected_version=form.cleaned_data["expected_version"]
                )
            except ServiceValidationError as exc:
                _apply_service_error(form, exc)
            else:
                return redirect("strategies:detail", pk=strategy.pk)
        return _form_page(request, form, strategy=strategy)
    form = StrategyForm(
        initial={
            "name": strategy.name,
            "description": strategy.description,
            "spec": spec_text(strategy.spec),
            "enabled": strategy.enabled,
            "expected_version": strategy.version,
        }
    )
    return _form_page(request, form, strategy=strategy)


@require_http_methods(["GET", "POST"])
def strategy_validate(request: HttpRequest) -> HttpResponse:
    """The editor's live check: stores nothing, so every role may use it.

    The editor POSTs (a spec can outgrow a URL); GET is accepted too because the check is safe
    and idempotent, and without a spec it answers the empty errors box.
    """
    text = request.POST.get("spec") if request.method == "POST" else request.GET.get("spec")
    if text is None:
        return render(request, "strategies/_spec_errors.html", {"spec_errors": [], "checked": False})
    _data, errors = spec_check(text)
    return render(request, "strategies/_spec_errors.html", {"spec_errors": errors, "checked": True})


@require_http_methods(["GET", "POST"])
@role_required(Role.OPERATOR)
def strategy_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation; only a POST carrying `confirm=yes` deletes (hx-confirm sends it too)."""
    strategy = get_object_or_404(Strategy, pk=pk)
    error = None
    if request.method == "POST" and request.POST.get("confirm") == "yes":
        try:
            services.strategy_delete(strategy=strategy)
        except ServiceValidationError as exc:
            error = f"{strategy.name} {exc.message}"
        else:
            if request.htmx:
                if (request.htmx.target or "").startswith("strategy-row-"):
                    return HttpResponse("")  # the row swaps itself out
                return HttpResponseClientRedirect(reverse("strategies:list"))
            return redirect("strategies:list")
    return render(request, "strategies/strategy_confirm_delete.html", {"strategy": strategy, "error": error})


@require_POST
@role_required(Role.OPERATOR)
def strategy_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    strategy = get_object_or_404(Strategy, pk=pk)
    # The button sends the state it asks for, not "flip": a double click then sets the same
    # state twice instead of switching the strategy back off.
    wanted = {"true": True, "false": False}.get(request.POST.get("enabled", ""))
    error = None
    try:
        strategy = services.strategy_toggle(strategy=strategy, enabled=wanted)
    except ServiceValidationError as exc:
        error = exc.message
    if request.htmx:
        return render(request, "strategies/_strategy_row.html", {"strategy": strategy, "row_error": error})
    if error:
        messages.error(request, f"{strategy.name}: {error}")
    next_url = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        return redirect(next_url)
    return redirect("strategies:list")
