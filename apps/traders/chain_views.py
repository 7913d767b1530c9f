"""The audit trail pages, /chains/: the index of chains by when they began, a chain's timeline, and
the what-if beside it. Every role reads; the what-if (it may ask a model, which costs) needs the
operator role, checked here. Nothing here writes a plan, a decision or an order."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from apps.core.errors import ServiceValidationError
from apps.core.paging import paged
from apps.core.roles import Role, has_role, role_required
from apps.traders import chains
from apps.traders.chain_forms import ChainRangeForm, WhatIfForm
from apps.traders.whatif import decision_what_if

PAGE_SIZE = 25


@require_GET
def chain_list(request: HttpRequest) -> HttpResponse:
    form = ChainRangeForm(request.GET)
    context: dict[str, Any] = {"form": form}
    # A range that does not parse is named above an empty list, never silently widened.
    if form.is_valid():
        refs = chains.chain_refs(start=form.cleaned_data["start"], end=form.cleaned_data["end"])
        context |= paged(request, refs, per_page=PAGE_SIZE)
        context["chains"] = chains.chains_for((kind, chain_id) for kind, chain_id, _at in context["page"])
    return render(request, "audit/chain_list.html", context)


def _chain(kind: str, chain_id: int) -> chains.Chain:
    try:
        return chains.chain_get(kind=kind, chain_id=chain_id)
    except chains.ChainNotFound as exc:
        raise Http404(str(exc)) from None


def _page(request: HttpRequest, chain: chains.Chain, **extra: Any) -> HttpResponse:
    decision = chain.entry_decision
    form = extra.pop("form", None)
    if form is None and decision is not None:
        form = WhatIfForm(initial={"risk_profile": decision.trader.risk_profile_id})
    context = {
        "chain": chain,
        "decision": decision,
        "market": chain.market,
        "form": form,
        "can_what_if": decision is not None and has_role(request.user, Role.OPERATOR),
        **extra,
    }
    return render(request, "audit/chain_detail.html", context)


@require_GET
def chain_detail(request: HttpRequest, kind: str, chain_id: int) -> HttpResponse:
    return _page(request, _chain(kind, chain_id))


@require_POST
@role_required(Role.OPERATOR)
def chain_what_if(request: HttpRequest, kind: str, chain_id: int) -> HttpResponse:
    chain = _chain(kind, chain_id)
    decision = chain.entry_decision
    if decision is None:
        raise Http404(f"{kind} {chain_id} has no decision to re-run")
    form = WhatIfForm(request.POST)
    result, error = None, ""
    if form.is_valid():
        try:
            result = decision_what_if(
                decision_id=decision.pk,
                risk_profile_id=form.cleaned_data["risk_profile"].pk,
                model_config_id=form.cleaned_data["model_config"].pk if form.cleaned_data["model_config"] else None,
            )
        except ServiceValidationError as exc:
            error = exc.message
    context = {"chain": chain, "market": chain.market, "what_if": result, "what_if_error": error, "form": form}
    if request.htmx:
        return render(request, "audit/_chain_what_if.html", context)
    return _page(request, chain, what_if=result, what_if_error=error, form=form)
