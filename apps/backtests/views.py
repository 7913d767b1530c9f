"""Backtest pages: every role reads; starting a run needs the operator role, checked here.
Output files are served only from the paths stored on the run, never from a path in the request."""

from __future__ import annotations

import json
from pathlib import Path

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRedirect, HttpResponseClientRefresh

from apps.backtests import selectors, services
from apps.backtests.forms import BacktestForm
from apps.backtests.metrics import METRICS, format_metric
from apps.backtests.models import BacktestRun
from apps.core.errors import ServiceValidationError
from apps.core.paging import paged
from apps.core.roles import Role, role_required
from apps.market.models import ExchangeId
from apps.market.timeframes import TIMEFRAME_MS
from apps.strategies.models import Strategy
from apps.strategies.spec import validate_spec

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
# Only our own run page may frame it (it opens on the report once the run is done).
REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'self'"
)


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
    files = selectors.backtest_run_files(run=run) if run.status == BacktestRun.Status.DONE else []
    context = {
        "run": run,
        "metrics": metrics,
        "files": files,
        "report_available": any(file.kind == "report" and file.available for file in files),
        "spec_json": json.dumps(run.spec, indent=2),
    }
    return render(request, "backtests/run_detail.html", context)


@require_GET
@role_required(Role.VIEWER)
def run_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """Polled by the run's page while the worker has it; once finished, the page reloads whole
    (metrics and report, or the error)."""
    run = _run_or_404(pk)
    if run.finished and request.htmx:
        return HttpResponseClientRefresh()
    return render(request, "backtests/_run_progress.html", {"run": run})


@require_http_methods(["GET", "POST"])
@role_required(Role.OPERATOR)
def run_start(request: HttpRequest, strategy_pk: int) -> HttpResponse:
    """The "Backtest" form of a strategy's page (loaded into it by HTMX, or a page of its own)."""
    strategy = get_object_or_404(Strategy, pk=strategy_pk)
    spec, _errors = validate_spec(strategy.spec)
    markets = selectors.spec_markets(spec=spec) if spec is not None else []
    if request.method == "POST":
        form = BacktestForm(request.POST, markets=markets)
        if form.is_valid():
            start, end = form.period()
            try:
                run = services.backtest_start(
                    strategy=strategy,
                    market=form.cleaned_data["market"],
                    timeframe=form.cleaned_data["timeframe"],
                    params=form.params(),
                    start=start,
                    end=end,
                    created_by=request.user,
                )
            except ServiceValidationError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                url = reverse("backtests:detail", args=[run.pk])
                return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    else:
        form = BacktestForm(initial={"timeframe": spec.timeframe if spec else None}, markets=markets)
    context = {"form": form, "strategy": strategy, "spec_valid": spec is not None}
    template = "backtests/_start_form.html" if request.htmx else "backtests/run_start.html"
    return render(request, template, context)


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
        response["X-Frame-Options"] = "SAMEORIGIN"
    return response
