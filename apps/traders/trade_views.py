"""Trade pages: the trade ticket (preview, then execute), the plans list and a plan's detail with its
live timeline. Every role reads; previewing, executing, cancelling and closing need the operator
role, checked here (the templates only hide the buttons). Viewers see the ticket page without its
form.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from apps.core import numbers
from apps.core.errors import ServiceValidationError
from apps.core.paging import paged
from apps.core.roles import Role, has_role, role_required
from apps.exchanges.adapters.errors import AdapterError
from apps.market.models import MAX_LEVERAGE, PRICE_DIGITS, Market
from apps.traders import selectors
from apps.traders.models import Side, TradePlan, Trader
from apps.traders.services.errors import ExchangeUnreachable, TradeConflict, TradeRefused
from apps.traders.services.plans import (
    PlanInput,
    live_confirmation_phrase,
    trade_plan_cancel,
    trade_plan_close,
    trade_plan_execute,
    trade_plan_preview,
)

PAGE_SIZE = 25
PlanStatus = TradePlan.Status
# What the services allow; the buttons follow it, the services enforce it.
CANCELLABLE = (PlanStatus.PREVIEWED, PlanStatus.PENDING, PlanStatus.ENTRY_SUBMITTED)
CLOSABLE = (PlanStatus.ENTRY_FILLED, PlanStatus.PROTECTION_PLACED)
VERDICT_COLOURS = {"pass": "#2e7d32", "scaled": "#ef6c00", "fail": "#c62828"}
STATUS_COLOURS = {
    PlanStatus.PREVIEWED: "#546e7a",
    PlanStatus.REJECTED: "#c62828",
    PlanStatus.EXPIRED: "#757575",
    PlanStatus.PENDING: "#1565c0",
    PlanStatus.ENTRY_SUBMITTED: "#1565c0",
    PlanStatus.ENTRY_FILLED: "#1565c0",
    PlanStatus.PROTECTION_PLACED: "#2e7d32",
    PlanStatus.COMPLETED: "#2e7d32",
    PlanStatus.FAILED: "#c62828",
    PlanStatus.CANCELLED: "#757575",
}
# Each figure shown on the plan pages with its kind (apps.core.numbers.KINDS): a price at the
# market's tick, an amount at its step, money at two decimals, or a rate as stored (plain).
ESTIMATE_LABELS = (
    ("notional", "Notional", "money"),
    ("fee_rate", "Fee rate", "plain"),
    ("entry_fee", "Entry fee", "money"),
    ("margin", "Margin", "money"),
    ("liquidation_price", "Liquidation price", "price"),
    ("loss_at_stop", "Loss at stop-loss (with fees)", "money"),
    ("gain_at_target", "Gain at take-profit (after fees)", "money"),
)
# Service field names that differ from the form's.
FORM_FIELDS = {"trader_id": "trader"}


# --- the trade ticket ----------------------------------------------------------------------------


class TraderChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Trader) -> str:
        return f"{obj.name} · {obj.account.name} ({obj.account.mode})"


def _decimal_field(label: str, help_text: str = "") -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=False,
        max_digits=PRICE_DIGITS["max_digits"],
        decimal_places=PRICE_DIGITS["decimal_places"],
        help_text=help_text,
        widget=forms.NumberInput(attrs={"step": "any"}),
    )


class TradeTicketForm(forms.Form):
    """Parses the ticket; the service validates the trade itself and names the field it refuses."""

    trader = TraderChoiceField(queryset=Trader.objects.select_related("account").order_by("name"), empty_label=None)
    symbol = forms.ChoiceField(label="Market")
    side = forms.ChoiceField(choices=Side.choices, initial=Side.BUY)
    order_type = forms.ChoiceField(label="Order type", choices=TradePlan.OrderType.choices, initial="market")
    quantity = _decimal_field("Quantity", "Empty: sized by the risk profile to the stop-loss distance.")
    entry_price = _decimal_field("Entry price", "Limit orders only.")
    stop_loss = _decimal_field("Stop-loss")
    take_profit = _decimal_field("Take-profit")
    leverage = forms.IntegerField(
        required=False, min_value=1, max_value=MAX_LEVERAGE, help_text="Empty: the account's default."
    )
    reason = forms.CharField(required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, trader: Trader | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if trader is None:
            trader = self._chosen_trader()
        if trader is not None:
            self.initial.setdefault("trader", trader.pk)
            markets = selectors.trade_markets(account=trader.account)
            self.fields["symbol"].choices = [
                (m.symbol, f"{m.symbol} ({m.get_type_display().lower()})") for m in markets
            ]

    def _chosen_trader(self) -> Trader | None:
        traders = self.fields["trader"].queryset
        wanted = self.data.get("trader") if self.is_bound else self.initial.get("trader")
        if wanted and str(wanted).isdigit():
            found = traders.filter(pk=int(wanted)).first()
            if found is not None:
                return found
        return traders.first()

    def plan_input(self) -> PlanInput:
        data = self.cleaned_data
        return PlanInput(
            trader_id=data["trader"].pk,
            symbol=data["symbol"],
            side=data["side"],
            order_type=data["order_type"],
            quantity=data["quantity"],
            entry_price=data["entry_price"],
            stop_loss=data["stop_loss"],
            take_profit=data["take_profit"],
            leverage=data["leverage"],
            reason=data["reason"],
        )

    def add_service_error(self, exc: ServiceValidationError) -> None:
        field = FORM_FIELDS.get(exc.field, exc.field)
        self.add_error(field if field in self.fields else None, exc.message)


def _ticket_context(form: TradeTicketForm | None, plan: TradePlan | None = None) -> dict[str, Any]:
    context: dict[str, Any] = {"form": form, "plan": plan}
    if plan is not None:
        context |= report_context(plan)
    return context


@require_GET
def trade_ticket(request: HttpRequest) -> HttpResponse:
    form = TradeTicketForm(initial={"trader": request.GET.get("trader")}) if _can_trade(request) else None
    return render(request, "traders/trade_ticket.html", _ticket_context(form))


@require_GET
@role_required(Role.OPERATOR)
def trade_symbols(request: HttpRequest) -> HttpResponse:
    """The market select for the chosen trader (its account's exchange), swapped in when the trader changes."""
    form = TradeTicketForm(initial={"trader": request.GET.get("trader")})
    return render(request, "traders/_trade_symbols.html", {"form": form})


@require_GET
def trade_price(request: HttpRequest) -> HttpResponse:
    """The chosen market's last price, beside the ticket's prices; refreshed while the ticket is open."""
    trader_id, symbol = request.GET.get("trader", ""), request.GET.get("symbol", "")
    trader = Trader.objects.select_related("account").filter(pk=trader_id).first() if trader_id.isdigit() else None
    context: dict[str, Any] = {"symbol": symbol}
    if trader is not None and symbol:
        try:
            ticker = selectors.market_ticker(account=trader.account, symbol=symbol)
            market = selectors.trade_markets(account=trader.account).filter(symbol=symbol).first()
            tick = market.price_precision if market else None
            context.update(last=numbers.at_increment(ticker.last, tick), at=ticker.timestamp)
        except AdapterError as exc:
            context["error"] = str(exc)
    return render(request, "traders/_trade_price.html", context)


@require_POST
@role_required(Role.OPERATOR)
def trade_preview(request: HttpRequest) -> HttpResponse:
    form = TradeTicketForm(request.POST)
    plan = None
    if form.is_valid():
        try:
            plan = trade_plan_preview(plan=form.plan_input(), user=request.user)
        except ServiceValidationError as exc:
            form.add_service_error(exc)
        except ExchangeUnreachable as exc:
            form.add_error(None, f"The exchange could not be asked for prices and balances: {exc}")
    template = "traders/_trade_ticket.html" if request.htmx else "traders/trade_ticket.html"
    return render(request, template, _ticket_context(form, plan))


# --- plan pages ----------------------------------------------------------------------------------


def _can_trade(request: HttpRequest) -> bool:
    return has_role(request.user, Role.OPERATOR)


def _plan(plan_id: int) -> TradePlan:
    plan = selectors.trade_plan_get(plan_id=plan_id)
    if plan is None:
        raise Http404("No such trade plan.")
    return plan


def _shown(value: Any, kind: str, market: Market) -> Any:
    """A stored figure (a Decimal, or a number kept as text in the report or estimate JSON) as the
    operator reads it; None stays None (the templates show a dash), anything else as it is."""
    if value is None or numbers.to_decimal(value) is None:
        return value
    return numbers.shown(value, kind, market)


PLAN_FIGURES = {
    "quantity": "amount",
    "requested_quantity": "amount",
    "reference_price": "price",
    "entry_price": "price",
    "stop_loss": "price",
    "take_profit": "price",
    "filled_quantity": "amount",
    "average_entry_price": "price",
    "exit_price": "price",
}
EXECUTION_FIGURES = {
    "amount": "amount",
    "price": "price",
    "trigger_price": "price",
    "filled": "amount",
    "average_price": "price",
    "fee": "money",
}


def _figures(obj: Any, kinds: dict[str, str], market: Market) -> dict[str, Any]:
    return {name: _shown(getattr(obj, name), kind, market) for name, kind in kinds.items()}


def _result_figures(plan: TradePlan) -> dict[str, Any]:
    """Realised PnL (after fees) and fees, in money format; None (a dash) until something closed."""
    result = selectors.trade_plan_result(plan=plan)
    return {
        "realised_pnl": _shown(result.realised_pnl, "money", plan.market),
        "gross_pnl": _shown(result.gross_pnl, "money", plan.market),
        "fees": _shown(result.fees, "money", plan.market),
        "fees_complete": result.fees_complete,
        "closed_quantity": _shown(result.closed_quantity, "amount", plan.market),
        "quote": plan.market.quote,
    }


def report_context(plan: TradePlan) -> dict[str, Any]:
    """A plan's figures, estimate and risk report as a person reads them: the ticket, the plan page and
    `manage.py orders place` show the same."""
    report = plan.risk_report if isinstance(plan.risk_report, dict) else {}
    estimate = plan.estimate if isinstance(plan.estimate, dict) else {}
    checks = [
        check | {"colour": VERDICT_COLOURS.get(check.get("verdict"), "#546e7a")} for check in report.get("checks", [])
    ]
    return {
        "figures": _figures(plan, PLAN_FIGURES, plan.market),
        "report": report,
        "decision": str(report.get("decision", "")).replace("_", " "),
        "checks": checks,
        "estimate_rows": [
            (label, _shown(estimate.get(key), kind, plan.market))
            for key, label, kind in ESTIMATE_LABELS
            if key in estimate
        ],
        "report_quantity": _shown(report.get("quantity"), "amount", plan.market),
        "report_requested_quantity": _shown(report.get("requested_quantity"), "amount", plan.market),
        "confirmation_phrase": live_confirmation_phrase(plan) if plan.live else None,
        "status_colour": STATUS_COLOURS.get(plan.status, "#546e7a"),
    }


def _plan_context(request: HttpRequest, plan: TradePlan) -> dict[str, Any]:
    can_trade = _can_trade(request)
    return {
        "plan": plan,
        "executions": [{"row": row, **_figures(row, EXECUTION_FIGURES, plan.market)} for row in plan.executions.all()],
        "events": list(plan.events.all()),
        "open_alerts": plan.open_alerts,
        "can_execute": can_trade and plan.status == PlanStatus.PREVIEWED,
        "can_cancel": can_trade and plan.status in CANCELLABLE,
        "can_close": can_trade and plan.status in CLOSABLE,
        "follows_live": plan.is_open,
        "result": _result_figures(plan),
        **report_context(plan),
    }


@require_GET
def plan_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") or None
    trader = request.GET.get("trader") or ""
    plans = selectors.trade_plan_list(
        status=status if status in PlanStatus.values else None,
        trader_id=int(trader) if trader.isdigit() else None,
    )
    context = paged(request, plans, per_page=PAGE_SIZE)
    context |= {
        "rows": [
            {
                "plan": plan,
                "colour": STATUS_COLOURS.get(plan.status),
                "result": _result_figures(plan),
                **_figures(plan, PLAN_FIGURES, plan.market),
            }
            for plan in context["page"]
        ],
        "statuses": PlanStatus.choices,
        "traders": Trader.objects.order_by("name"),
    }
    template = "traders/_plan_table.html" if request.htmx else "traders/trade_plan_list.html"
    return render(request, template, context)


@require_GET
def plan_detail(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = _plan(plan_id)
    return render(request, "traders/trade_plan_detail.html", _plan_context(request, plan))


@require_GET
def plan_timeline(request: HttpRequest, plan_id: int) -> HttpResponse:
    """The part of the detail page that changes while the plan runs; it polls itself while open."""
    plan = _plan(plan_id)
    return render(request, "traders/_plan_timeline.html", _plan_context(request, plan))


def _to_detail(request: HttpRequest, plan: TradePlan) -> HttpResponse:
    url = reverse("trade:plan_detail", args=[plan.pk])
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _error_text(exc: Exception) -> str:
    return exc.message if isinstance(exc, ServiceValidationError) else str(exc)


@require_POST
@role_required(Role.OPERATOR)
def plan_execute(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = _plan(plan_id)
    confirmation = request.POST.get("confirmation", "")
    try:
        trade_plan_execute(plan_id=plan.pk, user=request.user, confirmation=confirmation)
    except (ServiceValidationError, TradeConflict, TradeRefused, ExchangeUnreachable) as exc:
        error = _error_text(exc)
        plan = _plan(plan_id)  # the refusal may have changed it (rejected, expired)
        if request.htmx:
            context = {**report_context(plan), "plan": plan, "confirm_error": error, "confirmation": confirmation}
            return render(request, "traders/_plan_confirm.html", context)
        messages.error(request, error)
    return _to_detail(request, plan)


@require_POST
@role_required(Role.OPERATOR)
def plan_cancel(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = _plan(plan_id)
    try:
        result = trade_plan_cancel(plan=plan, user=request.user)
    except TradeConflict as exc:
        messages.error(request, str(exc))
    else:
        done = (
            "cancelled" if result.status == PlanStatus.CANCELLED else "cancel requested (the entry order is withdrawn)"
        )
        messages.success(request, f"Plan {plan.pk}: {done}.")
    return _to_detail(request, plan)


@require_POST
@role_required(Role.OPERATOR)
def plan_close(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = _plan(plan_id)
    try:
        trade_plan_close(plan=plan, user=request.user)
    except TradeConflict as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Plan {plan.pk}: close requested; the position is closed at market.")
    return _to_detail(request, plan)
