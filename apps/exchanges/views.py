from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from apps.core.paging import paged
from apps.core.roles import Role, role_required
from apps.exchanges import selectors, services
from apps.exchanges.adapters.base import Order, OrderStatus
from apps.exchanges.adapters.errors import AdapterError
from apps.exchanges.hooks import OrderCancelRefused
from apps.exchanges.models import ExchangeAccount
from apps.market.models import ExchangeId, Market, MarketFeed
from apps.market.selectors import feed_rows

PAGE_SIZE = 25


@require_GET
def account_list(request: HttpRequest) -> HttpResponse:
    accounts = selectors.exchange_account_list(
        exchange=request.GET.get("exchange") or None,
        mode=request.GET.get("mode") or None,
        search=request.GET.get("q") or None,
        ordering=request.GET.get("ordering", "name"),
    )
    context = paged(request, accounts, per_page=PAGE_SIZE)
    context |= {
        "exchanges": ExchangeId.choices,
        "modes": ExchangeAccount.Mode.choices,
    }
    template = "exchanges/_account_table.html" if request.htmx else "exchanges/account_list.html"
    return render(request, template, context)


# --- one account: balance, positions, orders ----------------------------------------------------------
# Each section is its own partial and catches adapter failures itself, so that an unreachable
# exchange shows a message in its card instead of failing the page.

ORDER_PAGE_SIZE = 20
ORDER_STATUSES = [status.value for status in OrderStatus]


def _unreachable(account: ExchangeAccount, exc: AdapterError) -> str:
    return f"Could not read from {account.get_exchange_display()} ({type(exc).__name__}): {exc}"


def _balance_context(account: ExchangeAccount) -> dict[str, Any]:
    try:
        balances = selectors.account_balance(account=account)
    except AdapterError as exc:
        return {"balances": [], "balance_error": _unreachable(account, exc)}
    # A quote currency (USDT) is money, shown in cents; a coin is an amount, shown as it is.
    quotes = {market.quote for market in selectors.account_markets(account=account).values()}
    return {"balances": [(balance, balance.currency in quotes) for balance in balances], "balance_error": None}


def _with_markets(account: ExchangeAccount, rows: Iterable[Any]) -> list[tuple[Any, Market | None]]:
    """Each position or order with its market, whose tick and step the page shows its numbers at."""
    markets = selectors.account_markets(account=account)
    return [(row, markets.get(row.symbol)) for row in rows]


def _positions_context(account: ExchangeAccount) -> dict[str, Any]:
    try:
        positions = selectors.account_positions(account=account)
    except AdapterError as exc:
        return {"positions": [], "positions_error": _unreachable(account, exc)}
    return {"positions": _with_markets(account, positions), "positions_error": None}


def _orders_context(request: HttpRequest, account: ExchangeAccount) -> dict[str, Any]:
    status = request.GET.get("status") or None
    if status not in ORDER_STATUSES:
        status = None
    symbol = (request.GET.get("symbol") or "").strip() or None
    filters = QueryDict(mutable=True)
    filters.update({key: value for key, value in (("status", status), ("symbol", symbol)) if value})
    context: dict[str, Any] = {
        "order_filters": {"status": status or "", "symbol": symbol or ""},
        "filter_query": filters.urlencode(),
        "statuses": ORDER_STATUSES,
        "orders_history": account.mode == ExchangeAccount.Mode.PAPER,
        "orders_error": None,
    }
    try:
        orders = selectors.account_orders(account=account, symbol=symbol, status=status)
        context["page"] = Paginator(orders, ORDER_PAGE_SIZE).get_page(request.GET.get("page"))
        context["orders"] = _with_markets(account, context["page"])
    except AdapterError as exc:
        context["page"] = None
        context["orders_error"] = _unreachable(account, exc)
    return context


def _account(account_id: int) -> ExchangeAccount:
    account = selectors.exchange_account_get(account_id=account_id)
    if account is None:
        raise Http404("No such exchange account.")
    return account


def _feeds_context(account: ExchangeAccount) -> dict[str, Any]:
    """The feeds of the account's price source, and whether the exchange's are silent: none running
    with a collected candle (offline, the exchange unreachable, or live collection not running)."""
    rows = feed_rows(exchange=account.exchange, source=account.feed_source)
    running = any(row.feed.horizon and row.feed.state == MarketFeed.State.RUNNING for row in rows)
    return {"feed_rows": rows, "exchange_silent": account.feed_source == MarketFeed.Source.EXCHANGE and not running}


@require_GET
def account_detail(request: HttpRequest, account_id: int) -> HttpResponse:
    account = _account(account_id)
    context = {
        "account": account,
        **_balance_context(account),
        **_positions_context(account),
        **_orders_context(request, account),
        **_feeds_context(account),
    }
    return render(request, "exchanges/account_detail.html", context)


@require_GET
def account_balance(request: HttpRequest, account_id: int) -> HttpResponse:
    account = _account(account_id)
    return render(request, "exchanges/_balance.html", {"account": account, **_balance_context(account)})


@require_GET
def account_positions(request: HttpRequest, account_id: int) -> HttpResponse:
    account = _account(account_id)
    return render(request, "exchanges/_positions.html", {"account": account, **_positions_context(account)})


@require_GET
def account_orders(request: HttpRequest, account_id: int) -> HttpResponse:
    account = _account(account_id)
    return render(request, "exchanges/_orders.html", {"account": account, **_orders_context(request, account)})


class ExchangeFailure(Exception):
    """The exchange failed while looking the order up; the message is safe to show."""


def _order(account: ExchangeAccount, order_id: str) -> Order:
    try:
        order = selectors.account_order_find(account=account, order_id=order_id)
    except AdapterError as exc:
        raise ExchangeFailure(_unreachable(account, exc)) from exc
    if order is None:
        raise Http404("No such order on this account.")
    return order


@require_GET
@role_required(Role.OPERATOR)
def order_cancel_confirm(request: HttpRequest, account_id: int, order_id: str) -> HttpResponse:
    """The confirmation step for browsers without JavaScript (htmx asks with hx-confirm instead)."""
    account = _account(account_id)
    try:
        order = _order(account, order_id)
    except ExchangeFailure as exc:
        return render(
            request, "exchanges/order_cancel_confirm.html", {"account": account, "error": str(exc)}, status=502
        )
    market = selectors.account_markets(account=account).get(order.symbol)
    context = {"account": account, "order": order, "market": market, "filter_query": request.GET.urlencode()}
    return render(request, "exchanges/order_cancel_confirm.html", context)


@require_POST
@role_required(Role.OPERATOR)
def order_cancel(request: HttpRequest, account_id: int, order_id: str) -> HttpResponse:
    account = _account(account_id)
    error, status = None, 502
    try:
        services.order_cancel(account=account, order=_order(account, order_id))
    except ExchangeFailure as exc:
        error = str(exc)
    except AdapterError as exc:
        error = f"The order was not cancelled ({type(exc).__name__}): {exc}"
    except OrderCancelRefused as exc:
        error, status = f"The order was not cancelled: {exc}", 409
    # The order list's filters and page ride along in the query string of the cancel URL.
    if request.htmx:
        context = {"account": account, "cancel_error": error, **_orders_context(request, account)}
        return render(request, "exchanges/_orders.html", context)
    if error:
        return render(
            request, "exchanges/order_cancel_confirm.html", {"account": account, "error": error}, status=status
        )
    query = request.GET.urlencode()
    return redirect(reverse("exchanges:account_detail", args=[account.pk]) + (f"?{query}" if query else ""))
