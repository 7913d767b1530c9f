from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from apps.exchanges import selectors
from apps.exchanges.models import ExchangeAccount
from apps.market.models import ExchangeId

PAGE_SIZE = 25


@require_GET
def account_list(request: HttpRequest) -> HttpResponse:
    accounts = selectors.exchange_account_list(
        exchange=request.GET.get("exchange") or None,
        mode=request.GET.get("mode") or None,
        search=request.GET.get("q") or None,
        ordering=request.GET.get("ordering", "name"),
    )
    page = Paginator(accounts, PAGE_SIZE).get_page(request.GET.get("page"))
    filters = request.GET.copy()
    filters.pop("page", None)
    context = {
        "page": page,
        "filter_query": filters.urlencode(),
        "exchanges": ExchangeId.choices,
        "modes": ExchangeAccount.Mode.choices,
    }
    template = "exchanges/_account_table.html" if request.htmx else "exchanges/account_list.html"
    return render(request, template, context)
