"""Signal pages: every role reads (the login middleware already requires one); nothing here writes."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from apps.core.paging import paged
from apps.core.query import query_int, query_moment
from apps.market.models import Market, Timeframe
from apps.market.selectors import feed_rows
from apps.signals import selectors
from apps.signals.models import Signal
from apps.strategies.models import Strategy

PAGE_SIZE = 50
# How each recorded input is shown: candle prices at the market's tick, volume at its step, every
# indicator (and the sentiment score) at two decimals.
INPUT_KINDS = {"open": "price", "high": "price", "low": "price", "close": "price", "volume": "amount"}


def _choice(value: str | None, choices: Any) -> str | None:
    return value if value in choices.values else None


def signal_filters(query: QueryDict) -> dict[str, Any]:
    """The list filters from a query string; a value that does not parse is ignored, not an error."""
    return {
        "strategy": query_int(query.get("strategy")),
        "market": query_int(query.get("market")),
        "timeframe": _choice(query.get("timeframe"), Timeframe),
        "direction": _choice(query.get("direction"), Signal.Direction),
        "status": _choice(query.get("status"), Signal.Status),
        "since": query_moment(query.get("since")),
        "until": query_moment(query.get("until")),
    }


@require_GET
def signal_list(request: HttpRequest) -> HttpResponse:
    filters = signal_filters(request.GET)
    context = paged(request, selectors.signal_list(**filters), per_page=PAGE_SIZE)
    # Counted without the status filter, so that both columns stay meaningful.
    counts = selectors.signal_counts(signals=selectors.signal_list(**{**filters, "status": None}))
    context |= {
        "counts": counts,
        "strategies": Strategy.objects.order_by("name").only("pk", "name"),
        "markets": Market.objects.order_by("symbol", "exchange").only("pk", "symbol", "exchange"),
        "timeframes": Timeframe.values,
        "directions": Signal.Direction.choices,
        "statuses": Signal.Status.choices,
        "feed_rows": feed_rows(),
    }
    template = "signals/_signal_results.html" if request.htmx else "signals/signal_list.html"
    return render(request, template, context)


@require_GET
def signal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    signal = get_object_or_404(Signal.objects.select_related("strategy", "market"), pk=pk)
    inputs = sorted(signal.inputs.items()) if isinstance(signal.inputs, dict) else []
    rows = [(name, INPUT_KINDS.get(name, "indicator"), value) for name, value in inputs]
    return render(request, "signals/signal_detail.html", {"signal": signal, "inputs": rows})
