"""Backtest pages: every role reads. Output files are served only from the paths stored on the
run, never from a path in the request."""

from __future__ import annotations

import json
from pathlib import Path

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from apps.backtests import selectors
from apps.backtests.metrics import METRICS, format_metric
from apps.backtests.models import BacktestRun
from apps.core.paging import paged
from apps.core.roles import Role, role_required
from apps.market.models import ExchangeId
from apps.market.timeframes import TIMEFRAME_MS

PAGE_SIZE = 25
ORDERING_CHOICES = [
    ("-created_at", "newest"),
    ("created_at", "oldest"),
    ("-total_return", "best return"),
    ("total_return", "worst return"),
    ("-sharpe", "best Sharpe"),
    ("sharpe", "worst Sharpe"),
    ("-max_drawdown", "smallest drawdown"),
    ("max_drawdown", "largest drawdown"),
    ("-trade_count", "most trades"),
    ("strategy_name", "strategy"),
]
LIST_METRICS = ("total_return", "sharpe", "max_drawdown", "trade_count")
CONTENT_TYPES = {
    "trades": "text/csv",
    "equity": "text/csv",
    "metrics": "application/json",
    "report": "text/html; charset=utf-8",
}
# The report is our own HTML with inline CSS and SVG; it needs nothing else and runs no script.
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"


def _run_or_404(pk: int) -> BacktestRun:
    run = selectors.backtest_run_get(pk=pk)
    if run is None:
        raise Http404("No such backtest run.")
    return run


@require_GET
@role_required(Role.VIEWER)
def run_list(request: HttpRequest) -> HttpResponse:
    runs = selectors.backtest_run_list(
        search=request.GET.get("q") or None,
        timeframe=request.GET.get("timeframe") or None,
        exchange=request.GET.get("exchange") or None,
        source=request.GET.get("source") or None,
        ordering=request.GET.get("ordering", "-created_at"),
    )
    context = paged(request, runs, per_page=PAGE_SIZE)
    page = context["page"]
    context |= {
        "rows": [(run, {name: format_metric(name, getattr(run, name)) for name in LIST_METRICS}) for run in page],
        "timeframes": list(TIMEFRAME_MS),
        "exchanges": ExchangeId.choices,
        "sources": BacktestRun.Source.choices,
        "orderings": ORDERING_CHOICES,
    }
    template = "backtests/_run_table.html" if request.htmx else "backtests/run_list.html"
    return render(request, template, context)


@require_GET
@role_required(Role.VIEWER)
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run_or_404(pk)
    metrics = [(label, format_metric(name, run.metrics.get(name))) for name, (label, _kind) in METRICS.items()]
    context = {
        "run": run,
        "metrics": metrics,
        "files": selectors.backtest_run_files(run=run),
        "spec_json": json.dumps(run.spec, indent=2),
    }
    return render(request, "backtests/run_detail.html", context)


@require_GET
@role_required(Role.VIEWER)
def run_file(request: HttpRequest, pk: int, kind: str) -> FileResponse:
    run = _run_or_404(pk)
    if kind not in CONTENT_TYPES:
        raise Http404("No such file kind.")
    path = Path(run.output_path(kind))
    if not path.is_file():
        raise Http404("This file is no longer on disk.")
    inline = kind == "report"
    response = FileResponse(
        path.open("rb"),
        as_attachment=not inline,
        filename=f"backtest-{run.pk}-{path.name}",
        content_type=CONTENT_TYPES[kind],
    )
    if inline:
        response["Content-Security-Policy"] = REPORT_CSP
    return response
