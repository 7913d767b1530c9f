from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from apps.core.paging import paged
from apps.core.roles import Role, role_required
from apps.market import selectors
from apps.market.models import ExchangeId, Market

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


@require_GET
@role_required(Role.VIEWER)
def market_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A market's candles with the trade plans' fills and levels (the chart reads /api/v1/charts/candles)."""
    market = get_object_or_404(Market, pk=pk)
    context = {
        "market": market,
        "coverage": selectors.market_coverage(market_ids=[market.pk]).get(market.pk, []),
        "feed_rows": selectors.feed_rows(market=market),
    }
    return render(request, "market/market_detail.html", context)
