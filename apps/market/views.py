from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from apps.core.paging import paged
from apps.market import selectors
from apps.market.models import ExchangeId

PAGE_SIZE = 25


@require_GET
def coverage(request: HttpRequest) -> HttpResponse:
    markets = selectors.market_list(
        exchange=request.GET.get("exchange") or None,
        search=request.GET.get("q") or None,
        ordering=request.GET.get("ordering", "symbol"),
    )
    context = paged(request, markets, per_page=PAGE_SIZE)
    page = context["page"]
    coverage_by_market = selectors.market_coverage(market_ids=[market.pk for market in page])
    context |= {
        "rows": [(market, coverage_by_market.get(market.pk, [])) for market in page],
        "exchanges": ExchangeId.choices,
        "feed_rows": selectors.feed_rows(exchange=request.GET.get("exchange") or None),
    }
    template = "market/_market_tables.html" if request.htmx else "market/coverage.html"
    return render(request, template, context)
