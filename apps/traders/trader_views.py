"""The trader pages, mounted at /traders/: the list, each trader's detail, the create and edit forms,
and start and stop with a confirmation step. Every role reads; writes, starts and stops need the
operator role, checked here (the templates only hide the buttons). Saves, starts and stops go
through the services, which validate again inside their transaction.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from apps.core.errors import ServiceValidationError
from apps.core.paging import paged
from apps.core.roles import Role, has_role, role_required
from apps.exchanges.models import ExchangeAccount
from apps.traders import pnl_selectors, selectors, services
from apps.traders.forms import TraderForm, listed_markets
from apps.traders.models import OPEN_PLAN_STATUSES, Trader
from apps.traders.services.errors import TradeConflict, TradeRefused
from apps.traders.services.preview import trader_prompt_preview

PAGE_SIZE = 25
DECISIONS_SHOWN = 20
ORDERING_CHOICES = [
    ("name", "name"),
    ("status", "status"),
    ("account__name", "account"),
    ("-open_positions", "most open positions"),
    ("-last_cycle_at", "latest cycle"),
    ("heartbeat_at", "oldest heartbeat"),
    ("-created_at", "newest"),
]
FORM_FIELD_NAMES = set(services.TRADER_FIELDS)


def _trader(pk: int) -> Trader:
    return get_object_or_404(selectors.trader_list(), pk=pk)


def _digits(value: str) -> int | None:
    return int(value) if value.isdigit() else None


def _rows(traders: Any, now: datetime) -> list[dict[str, Any]]:
    """Each trader with what the list shows beside its own columns."""
    pnl = pnl_selectors.traders_pnl_today(trader_ids=[trader.pk for trader in traders])
    return [
        {
            "trader": trader,
            "stale": selectors.trader_heartbeat_stale(trader=trader, now=now),
            "timeframe": selectors.trader_timeframe(trader=trader),
            "pnl_today": pnl[trader.pk],
        }
        for trader in traders
    ]


@require_GET
def trader_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    traders = selectors.trader_list(
        status=status if status in Trader.Status.values else None,
        account=_digits(request.GET.get("account", "")),
        search=request.GET.get("q") or None,
        ordering=request.GET.get("ordering", "name"),
    )
    context = paged(request, traders, per_page=PAGE_SIZE)
    context |= {
        "rows": _rows(list(context["page"]), timezone.now()),
        "statuses": Trader.Status.choices,
        "accounts": ExchangeAccount.objects.order_by("name"),
        "orderings": ORDERING_CHOICES,
    }
    template = "traders/_trader_list_table.html" if request.htmx else "traders/trader_list.html"
    return render(request, template, context)


@require_GET
def trader_detail(request: HttpRequest, pk: int) -> HttpResponse:
    trader = _trader(pk)
    now = timezone.now()
    open_plans = selectors.trade_plan_list(trader_id=trader.pk).filter(status__in=OPEN_PLAN_STATUSES)
    context = {
        "trader": trader,
        "stale": selectors.trader_heartbeat_stale(trader=trader, now=now),
        "timeframe": selectors.trader_timeframe(trader=trader),
        "pnl_today": pnl_selectors.pnl_today(trader_id=trader.pk),
        "equity_points": pnl_selectors.equity_series(trader_id=trader.pk),
        "trader_id": trader.pk,
        "risk_state": selectors.trader_risk_state_get(trader=trader),
        "positions": [plan for plan in open_plans if plan.status in selectors.POSITION_PLAN_STATUSES],
        "open_plans": open_plans,
        "decisions": selectors.trader_decision_list(trader=trader, limit=DECISIONS_SHOWN),
        "ai_usage": selectors.trader_ai_usage(trader=trader, now=now)
        if trader.decision_mode == Trader.DecisionMode.AI
        else None,
    }
    return render(request, "traders/trader_detail.html", context)


@require_GET
def trader_prompt(request: HttpRequest, pk: int) -> HttpResponse:
    """What the trader would send its model on the newest released candle (?market=<id>)."""
    trader = _trader(pk)
    context: dict[str, Any] = {"trader": trader, "markets": trader.markets.order_by("pk")}
    try:
        preview = trader_prompt_preview(trader=trader, market_id=_digits(request.GET.get("market", "")))
        context |= {"preview": preview, "schema_json": json.dumps(preview.schema, indent=2)}
    except ServiceValidationError as exc:
        context["error"] = exc.message
    return render(request, "traders/trader_prompt.html", context, status=422 if "error" in context else 200)


def _form(request: HttpRequest, *args: Any, **kwargs: Any) -> TraderForm:
    """The trader form; the live flag, one of the live safeguards, only admins change (as in the admin
    and the API): for an operator it keeps its value."""
    form = TraderForm(*args, **kwargs)
    if not has_role(request.user, Role.ADMIN):
        form.fields["live"].disabled = True
        form.fields["live"].help_text = "Only an admin changes the live flag."
    else:
        form.fields["live"].help_text += " Turning it on waits for a second admin's approval (/approvals/)."
    return form


def _form_page(request: HttpRequest, form: TraderForm, *, trader: Trader | None) -> HttpResponse:
    return render(request, "traders/trader_form.html", {"form": form, "trader": trader})


def _save(request: HttpRequest, form: TraderForm, trader: Trader | None) -> Trader | None:
    """The form's values through the service; None (with the service's error on the form) when refused.
    What waits for a second admin (going live, a live trader's model ...) the detail page says."""
    values = listed_markets({field: form.cleaned_data[field] for field in services.TRADER_FIELDS})
    try:
        if trader is None:
            return services.trader_create(**values, user=request.user)
        return services.trader_update(trader=trader, changes=values, user=request.user)
    except ServiceValidationError as exc:
        form.add_error(exc.field if exc.field in FORM_FIELD_NAMES else None, exc.message)
        return None


@require_http_methods(["GET", "POST"])
@role_required(Role.OPERATOR)
def trader_create(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = _form(request, request.POST)
        saved = _save(request, form, None) if form.is_valid() else None
        if saved is not None:
            return redirect("trader:detail", pk=saved.pk)
        return _form_page(request, form, trader=None)
    first_account = ExchangeAccount.objects.order_by("name").first()
    form = _form(request, initial={"account": first_account.pk if first_account else None})
    return _form_page(request, form, trader=None)


@require_http_methods(["GET", "POST"])
@role_required(Role.OPERATOR)
def trader_edit(request: HttpRequest, pk: int) -> HttpResponse:
    trader = _trader(pk)
    form = _form(request, request.POST or None, instance=trader)
    if request.method == "POST":
        saved = _save(request, form, trader) if form.is_valid() else None
        if saved is not None:
            return redirect("trader:detail", pk=saved.pk)
    return _form_page(request, form, trader=trader)


@require_GET
@role_required(Role.OPERATOR)
def trader_form_markets(request: HttpRequest) -> HttpResponse:
    """The form's markets box for the account the operator picked (htmx swaps it in)."""
    form = TraderForm(initial={"account": request.GET.get("account", "")})
    return render(request, "traders/_trader_markets.html", {"form": form})


def _switch(request: HttpRequest, pk: int, *, start: bool) -> HttpResponse:
    """GET asks for confirmation; only a POST with confirm=yes starts or stops (a live account's
    start also needs the typed account name, checked by the service)."""
    trader = _trader(pk)
    error, confirmation = None, request.POST.get("confirmation", "")
    if request.method == "POST" and request.POST.get("confirm") == "yes":
        try:
            if start:
                services.trader_start(trader=trader, user=request.user, confirmation=confirmation, strict=True)
            else:
                services.trader_stop(trader=trader, user=request.user, strict=True)
        except ServiceValidationError as exc:
            error = f"{exc.field}: {exc.message}"
        except (TradeConflict, TradeRefused) as exc:
            error = str(exc)
        else:
            return redirect("trader:detail", pk=trader.pk)
    context = {
        "trader": trader,
        "start": start,
        "live": trader.account.mode == ExchangeAccount.Mode.LIVE,
        "timeframe": selectors.trader_timeframe(trader=trader),
        "error": error,
        "confirmation": confirmation,
    }
    return render(request, "traders/trader_confirm_switch.html", context, status=422 if error else 200)


@require_http_methods(["GET", "POST"])
@role_required(Role.OPERATOR)
def trader_start(request: HttpRequest, pk: int) -> HttpResponse:
    return _switch(request, pk, start=True)


@require_http_methods(["GET", "POST"])
@role_required(Role.OPERATOR)
def trader_stop(request: HttpRequest, pk: int) -> HttpResponse:
    return _switch(request, pk, start=False)
