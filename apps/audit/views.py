"""The decision log pages, /logs/: every role reads (the login middleware already requires one);
nothing here writes."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from apps.audit import selectors
from apps.audit.forms import DecisionFilterForm
from apps.core.paging import paged

PAGE_SIZE = 50


@require_GET
def decision_list(request: HttpRequest) -> HttpResponse:
    form = DecisionFilterForm(request.GET)
    context = {"form": form}
    # A filter that does not parse is named above an empty list, not ignored: a list that silently
    # shows more than was asked for would be read as the answer.
    if form.is_valid():
        filters = form.filters()
        context |= paged(request, selectors.decision_list(filters=filters), per_page=PAGE_SIZE)
        context["stats"] = selectors.decision_stats(filters=filters)
    template = "audit/_decision_results.html" if request.htmx else "audit/decision_list.html"
    return render(request, template, context)


@require_GET
def decision_detail(request: HttpRequest, pk: int) -> HttpResponse:
    decision = get_object_or_404(selectors.decision_list().select_related("plan"), pk=pk)
    return render(request, "audit/decision_detail.html", {"decision": decision, "inputs": decision.recorded_inputs()})
