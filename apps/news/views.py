"""The news page: every role reads (the login middleware already requires one); nothing here writes."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.views.decorators.http import require_GET

from apps.core.paging import paged
from apps.core.query import query_int, query_moment
from apps.news import selectors

PAGE_SIZE = 30
SEARCH_MAX_CHARS = 200


def news_filters(query: QueryDict) -> selectors.NewsFilters:
    """The list filters from a query string; a value that does not parse is ignored, not an error."""
    return selectors.NewsFilters(
        asset=(query.get("asset") or "").strip().upper()[:20] or None,
        source=query_int(query.get("source")),
        since=query_moment(query.get("since")),
        until=query_moment(query.get("until")),
        search=(query.get("q") or "").strip()[:SEARCH_MAX_CHARS] or None,
    )


@require_GET
def news_list(request: HttpRequest) -> HttpResponse:
    context = paged(request, selectors.news_item_list(filters=news_filters(request.GET)), per_page=PAGE_SIZE)
    if request.htmx:
        return render(request, "news/_news_results.html", context)
    context |= {
        "assets": selectors.news_assets(),
        "sources": selectors.news_source_list(),
    }
    return render(request, "news/news_list.html", context)
