"""The news page: every role reads (the login middleware already requires one); nothing here writes."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.views.decorators.http import require_GET

from apps.core.paging import paged
from apps.core.query import query_int, query_moment
from apps.news import selectors
from apps.news.models import NewsSentiment

PAGE_SIZE = 30
SEARCH_MAX_CHARS = 200
T = TypeVar("T")


def news_filters(query: QueryDict) -> tuple[selectors.NewsFilters, list[str]]:
    """The list filters from a query string, and what could not be read: such a filter is left off
    (pages carry hand-edited links) and the page says so, naming it."""
    problems: list[str] = []

    def read(name: str, parse: Callable[[str], T | None], expected: str) -> T | None:
        text = query.get(name) or ""
        value = parse(text)
        if text and value is None:
            problems.append(f"{name} {text!r} is not {expected}")
        return value

    filters = selectors.NewsFilters(
        asset=(query.get("asset") or "").strip().upper()[:20] or None,
        source=read("source", query_int, "a source id"),
        since=read("since", query_moment, "a date from 1970 to 9000"),
        until=read("until", query_moment, "a date from 1970 to 9000"),
        search=(query.get("q") or "").strip()[:SEARCH_MAX_CHARS] or None,
        label=read("label", _label, f"one of {', '.join(NewsSentiment.Label.values)}"),
    )
    return filters, problems


def _chart_asset(counts: list[tuple[str, int]], asset_filter: str | None) -> str | None:
    """The asset the chart opens on: the one the page filters on, else the one most headlines mention."""
    if asset_filter in {asset for asset, _count in counts}:
        return asset_filter
    return max(counts, key=lambda entry: entry[1])[0] if counts else None


def _label(text: str) -> str | None:
    return text if text in NewsSentiment.Label.values else None


@require_GET
def news_list(request: HttpRequest) -> HttpResponse:
    filters, problems = news_filters(request.GET)
    context = paged(request, selectors.news_item_list(filters=filters), per_page=PAGE_SIZE)
    context["filter_problems"] = problems
    if request.htmx:
        return render(request, "news/_news_results.html", context)
    chart_assets = selectors.news_asset_counts()
    context |= {
        "assets": [asset for asset, _count in chart_assets],
        "sources": selectors.news_source_list(),
        "labels": NewsSentiment.Label.choices,
        "chart_assets": chart_assets,
        "chart_asset": _chart_asset(chart_assets, filters.asset),
        "sentiment_window": settings.NEWS_SENTIMENT_WINDOW,
        "sentiment_max_age_hours": settings.NEWS_SENTIMENT_MAX_AGE_HOURS,
    }
    return render(request, "news/news_list.html", context)
