"""The audit trail of a trade (reads only): for a plan or a decision, every step from the candle that
triggered it to its PnL, in causal order, each with its time: the candle and indicator values as the
decision read them, the signal, the decision (rules or model: reason, evidence, prompt version and
hash, tokens), the risk report, the plan's status changes, each order and fill, and the plan's PnL.

It lives in the traders app, not in apps.audit: it reads trade plans, executions and the plan's PnL,
and apps.audit sits below apps.traders (the import layers). A chain is built from a fixed number of
queries whatever its length, and a date range is read in batches (`chain_stream`), so an export of a
year holds one batch in memory at a time.

Only whitelisted fields are copied into a step: no account, model config or channel is ever read
beyond its name, so no secret can reach a chain, its JSON or its export.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import F, Prefetch, QuerySet, Value

from apps.audit.models import CANDLE_FIELDS, DecisionLog
from apps.core.numbers import money, shown
from apps.market.timeframes import timeframe_ms
from apps.traders.models import TERMINAL_PLAN_STATUSES, Execution, PlanEvent, TradePlan
from apps.traders.selectors import trade_plan_result

PLAN, DECISION = "plan", "decision"
KINDS = (PLAN, DECISION)
BATCH = 200  # chains built per round of queries in a stream
FILL_STATUSES = (TradePlan.Status.ENTRY_FILLED, TradePlan.Status.COMPLETED)


class ChainNotFound(LookupError):
    """No plan or decision with that id (or an unknown kind)."""


@dataclass(frozen=True)
class Step:
    """One step of a chain. `kind` is candle, indicators, signal, decision, plan, risk, event, order,
    fill or pnl; `at` is when it happened (UTC; a candle's and its indicators' at the candle's close,
    on the market's clock); `data` holds JSON values only (Decimals as strings)."""

    kind: str
    at: datetime | None
    title: str
    data: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "at": _iso(self.at), "title": self.title, "data": self.data}


@dataclass(frozen=True)
class Chain:
    kind: str
    id: int
    trader_id: int
    trader: str
    market: Any  # the Market, for formatting prices at its tick (not exported)
    plan: TradePlan | None
    decisions: tuple[DecisionLog, ...]
    steps: tuple[Step, ...] = field(default=())

    @property
    def entry_decision(self) -> DecisionLog | None:
        """The decision the chain is about: the one asked for, else the plan's first."""
        if self.kind == DECISION:
            return next(decision for decision in self.decisions if decision.pk == self.id)
        return self.decisions[0] if self.decisions else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "trader_id": self.trader_id,
            "trader": self.trader,
            "market": self.market.symbol,
            "exchange": self.market.exchange,
            "plan_id": self.plan.pk if self.plan is not None else None,
            "decision_ids": [decision.pk for decision in self.decisions],
            "steps": [step.as_dict() for step in self.steps],
        }


# --- JSON values ---------------------------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


# --- the decision's steps ------------------------------------------------------------------------


def _candle_steps(decision: DecisionLog) -> list[Step]:
    inputs = decision.recorded_inputs()
    values = inputs.get("values") or {}
    closes_at = decision.candle_open_time + timedelta(milliseconds=timeframe_ms(decision.timeframe))
    candle = {name: values.get(name) for name in sorted(CANDLE_FIELDS)}
    if candle.get("close") is None and inputs.get("price") is not None:
        candle["close"] = inputs["price"]
    title = f"{decision.market.symbol} {decision.timeframe} candle of {decision.candle_open_time:%Y-%m-%d %H:%M} UTC"
    return [
        Step(
            "candle",
            closes_at,
            title,
            {"open_time": _iso(decision.candle_open_time), "timeframe": decision.timeframe, **candle},
        ),
        Step(
            "indicators",
            closes_at,
            "Indicator values read at the close",
            {"values": dict(decision.indicator_values()), "sentiment": inputs.get("sentiment")},
        ),
    ]


def _signal_step(decision: DecisionLog) -> Step:
    signal = decision.signal
    if signal is None:
        direction = decision.recorded_inputs().get("signal")
        title = f"Strategy direction {direction} (no stored signal)" if direction else "No signal on this candle"
        return Step("signal", None, title, {"id": None, "direction": direction})
    data = {
        "id": signal.pk,
        "strategy": signal.strategy.name,
        "strategy_version": signal.strategy_version,
        "direction": signal.direction,
        "status": signal.status,
    }
    return Step("signal", signal.created_at, f"Signal {signal.pk}: {signal.direction} ({signal.status})", data)


def _ai_data(decision: DecisionLog) -> dict[str, Any] | None:
    if not decision.ai_model and decision.prompt_version is None:
        return None
    return {
        "model": decision.ai_model,
        "prompt_version": decision.prompt_version,
        "prompt_hash": decision.prompt_hash,
        "tokens_in": decision.tokens_in,
        "tokens_out": decision.tokens_out,
        "cost": _text(decision.cost),
        "latency_ms": decision.ai_latency_ms,
        "plan": decision.ai_plan,
    }


def _decision_step(decision: DecisionLog) -> Step:
    inputs = decision.recorded_inputs()
    data = {
        "id": decision.pk,
        "mode": decision.mode,
        "strategy_version": decision.strategy_version,
        "action": decision.action,
        "outcome": decision.outcome,
        "reason": decision.reason,
        "error": decision.error,
        "evidence": decision.evidence_items(),
        "ai": _ai_data(decision),
        "price": inputs.get("price"),
        "position": inputs.get("position"),
        "equity": inputs.get("equity"),
        "halt": inputs.get("halt"),
        "busy": inputs.get("busy") or "",
        "latency_ms": decision.latency_ms,
        "realised_pnl": _text(decision.realised_pnl),
    }
    action, outcome = decision.get_action_display(), decision.get_outcome_display()
    title = f"Decision {decision.pk} ({decision.mode}): {action}, {outcome}"
    return Step("decision", decision.decided_at, title, data)


def _risk_step(report: dict[str, Any] | None, at: datetime | None) -> Step | None:
    if not report:
        return None
    return Step("risk", at, f"Risk gate: {report.get('decision', '?')}", report)


# --- the plan's steps ----------------------------------------------------------------------------


def _plan_step(plan: TradePlan) -> Step:
    data = {
        "id": plan.pk,
        "account": plan.account.name,
        "live": plan.live,
        "source": plan.source,
        "source_ref": plan.source_ref,
        "side": plan.side,
        "order_type": plan.order_type,
        "requested_quantity": _text(plan.requested_quantity),
        "quantity": _text(plan.quantity),
        "entry_price": _text(plan.entry_price),
        "reference_price": _text(plan.reference_price),
        "stop_loss": _text(plan.stop_loss),
        "take_profit": _text(plan.take_profit),
        "leverage": plan.leverage,
        "reason": plan.reason,
        "created_by": plan.created_by.get_username() if plan.created_by else None,
    }
    quantity = shown(plan.quantity, "amount", plan.market)
    return Step("plan", plan.created_at, f"Plan {plan.pk}: {plan.side} {quantity} {plan.market.symbol}", data)


def _event_step(event: PlanEvent) -> Step:
    data = {
        "from_status": event.from_status,
        "to_status": event.to_status,
        "reason": event.reason,
        "exchange_ref": event.exchange_ref,
        "execution_id": event.execution_id,
        "market_time": _iso(event.market_time),
        "actor": event.actor.get_username() if event.actor else None,
    }
    return Step("event", event.at, f"{event.from_status or 'new'} → {event.to_status}", data)


def _order_step(execution: Execution) -> Step:
    data = {
        "id": execution.pk,
        "leg": execution.leg,
        "attempt": execution.attempt,
        "client_order_id": execution.client_order_id,
        "exchange_order_id": execution.exchange_order_id,
        "side": execution.side,
        "order_type": execution.order_type,
        "amount": _text(execution.amount),
        "price": _text(execution.price),
        "trigger_price": _text(execution.trigger_price),
        "reduce_only": execution.reduce_only,
        "status": execution.status,
        "send_count": execution.send_count,
        "last_error": execution.last_error,
    }
    amount = shown(execution.amount, "amount", execution.plan.market)
    title = f"Order {execution.client_order_id}: {execution.leg} {execution.side} {amount} ({execution.status})"
    return Step("order", execution.created_at, title, data)


def _fill_step(execution: Execution, events: list[PlanEvent]) -> Step | None:
    if not execution.filled:
        return None
    # The fill's time is the status change it caused (entry filled, or completed by an exit, stop or
    # target); the row's last update otherwise (a fill whose event was not linked to it).
    at = next(
        (event.at for event in events if event.execution_id == execution.pk and event.to_status in FILL_STATUSES),
        execution.updated_at,
    )
    data = {
        "execution_id": execution.pk,
        "leg": execution.leg,
        "side": execution.side,
        "filled": _text(execution.filled),
        "average_price": _text(execution.average_price),
        "fee": _text(execution.fee),
        "fee_currency": execution.fee_currency,
    }
    market = execution.plan.market
    price = shown(execution.average_price or execution.price or execution.trigger_price, "price", market)
    return Step("fill", at, f"Fill: {execution.leg} {shown(execution.filled, 'amount', market)} at {price}", data)


def _pnl_step(plan: TradePlan, decisions: tuple[DecisionLog, ...]) -> Step:
    result = trade_plan_result(plan=plan)
    logged = next((decision.realised_pnl for decision in decisions if decision.realised_pnl is not None), None)
    data = {
        "status": plan.status,
        "close_reason": plan.close_reason,
        "average_entry_price": _text(plan.average_entry_price),
        "exit_price": _text(plan.exit_price),
        "entry_quantity": _text(result.entry_quantity),
        "closed_quantity": _text(result.closed_quantity),
        "fees": _text(result.fees),
        "fees_complete": result.fees_complete,
        "gross_pnl": _text(result.gross_pnl),
        "realised_pnl": _text(result.realised_pnl),
        "decision_log_realised_pnl": _text(logged),
    }
    if result.realised_pnl is None:
        title = f"PnL: none realised yet (plan {plan.get_status_display().lower()})"
    else:
        quote = plan.market.quote
        title = f"PnL: realised {money(result.realised_pnl)} {quote} after {money(result.fees)} {quote} fees"
    # A finished plan's PnL is known from its last status change; an open plan's is not final.
    events = list(plan.events.all())
    at = events[-1].at if plan.status in TERMINAL_PLAN_STATUSES and events else None
    return Step("pnl", at, title, data)


# Ties on the clock keep the order a plan's life has: its status change, the order it sent, the fill.
_RANK = {"decision": 0, "event": 1, "order": 2, "fill": 3}


def _plan_life(plan: TradePlan, later: Iterable[DecisionLog]) -> list[Step]:
    events = list(plan.events.all())
    executions = list(plan.executions.all())
    timed: list[Step] = [_event_step(event) for event in events]
    timed += [_order_step(execution) for execution in executions]
    timed += [step for execution in executions if (step := _fill_step(execution, events)) is not None]
    # A later decision (the exit) is part of the plan's life, between its orders.
    timed += [_decision_step(decision) for decision in later]
    return sorted(timed, key=lambda step: (step.at is None, step.at, _RANK[step.kind]))


def _steps(plan: TradePlan | None, decisions: tuple[DecisionLog, ...]) -> tuple[Step, ...]:
    steps: list[Step] = []
    first = decisions[0] if decisions else None
    if first is not None:
        steps += [*_candle_steps(first), _signal_step(first), _decision_step(first)]
    if plan is None:
        risk = _risk_step(first.risk_report if first else None, first.decided_at if first else None)
        return tuple(steps + ([risk] if risk else []))
    steps.append(_plan_step(plan))
    risk = _risk_step((first.risk_report if first else None) or plan.risk_report, plan.created_at)
    if risk is not None:
        steps.append(risk)
    steps += _plan_life(plan, decisions[1:])
    steps.append(_pnl_step(plan, decisions))
    return tuple(steps)


# --- the queries ---------------------------------------------------------------------------------


def _decisions() -> QuerySet[DecisionLog]:
    return DecisionLog.objects.select_related("trader", "market", "signal__strategy").order_by("decided_at", "id")


def _plans() -> QuerySet[TradePlan]:
    return TradePlan.objects.select_related("trader", "account", "market", "created_by").prefetch_related(
        Prefetch("executions", queryset=Execution.objects.order_by("created_at", "id")),
        Prefetch("events", queryset=PlanEvent.objects.select_related("actor").order_by("at", "id")),
        Prefetch("decisions", queryset=_decisions()),
    )


def _plan_chain(plan: TradePlan, *, kind: str = PLAN, chain_id: int | None = None) -> Chain:
    decisions = tuple(plan.decisions.all())
    return Chain(
        kind=kind,
        id=chain_id if chain_id is not None else plan.pk,
        trader_id=plan.trader_id,
        trader=plan.trader.name,
        market=plan.market,
        plan=plan,
        decisions=decisions,
        steps=_steps(plan, decisions),
    )


def _decision_chain(decision: DecisionLog) -> Chain:
    return Chain(
        kind=DECISION,
        id=decision.pk,
        trader_id=decision.trader_id,
        trader=decision.trader.name,
        market=decision.market,
        plan=None,
        decisions=(decision,),
        steps=_steps(None, (decision,)),
    )


def chain_get(*, kind: str, chain_id: int) -> Chain:
    """The chain of plan `chain_id` or decision `chain_id`. A decision that made a plan shows that
    plan's whole chain (its entry and exit decisions included). Raises ChainNotFound."""
    if kind == PLAN:
        plan = _plans().filter(pk=chain_id).first()
        if plan is None:
            raise ChainNotFound(f"no plan with id {chain_id}")
        return _plan_chain(plan)
    if kind != DECISION:
        raise ChainNotFound(f"unknown chain kind {kind!r}: use plan or decision")
    plan_id = DecisionLog.objects.filter(pk=chain_id).values_list("plan_id", flat=True).first()
    if plan_id is None:
        decision = _decisions().filter(pk=chain_id).first()
        if decision is None:
            raise ChainNotFound(f"no decision with id {chain_id}")
        return _decision_chain(decision)
    return _plan_chain(_plans().get(pk=plan_id), kind=DECISION, chain_id=chain_id)


# --- a date range --------------------------------------------------------------------------------


def chain_refs(*, start: datetime | None = None, end: datetime | None = None) -> QuerySet:
    """(kind, id, at) of every chain that began in [start, end): each plan by its creation, and each
    decision that made no plan (a hold, a rejection sized to nothing, an error) by when it was decided.
    Newest first; a union query, so it pages and streams without loading either table."""
    plans = TradePlan.objects.all()
    decisions = DecisionLog.objects.filter(plan__isnull=True)
    if start is not None:
        plans, decisions = plans.filter(created_at__gte=start), decisions.filter(decided_at__gte=start)
    if end is not None:
        plans, decisions = plans.filter(created_at__lt=end), decisions.filter(decided_at__lt=end)
    plan_refs = plans.annotate(kind=Value(PLAN), at=F("created_at")).values_list("kind", "id", "at")
    decision_refs = decisions.annotate(kind=Value(DECISION), at=F("decided_at")).values_list("kind", "id", "at")
    return plan_refs.order_by().union(decision_refs.order_by(), all=True).order_by("-at", "-id")


def chains_for(refs: Iterable[tuple[str, int]]) -> list[Chain]:
    """The chains of `refs` ((kind, id) pairs), in that order, in three rounds of queries."""
    refs = list(refs)
    plan_ids = [chain_id for kind, chain_id in refs if kind == PLAN]
    decision_ids = [chain_id for kind, chain_id in refs if kind == DECISION]
    plans = {plan.pk: plan for plan in _plans().filter(pk__in=plan_ids)} if plan_ids else {}
    decisions = {decision.pk: decision for decision in _decisions().filter(pk__in=decision_ids)} if decision_ids else {}
    chains = []
    for kind, chain_id in refs:
        if kind == PLAN and chain_id in plans:
            chains.append(_plan_chain(plans[chain_id]))
        elif kind == DECISION and chain_id in decisions:
            chains.append(_decision_chain(decisions[chain_id]))
    return chains


def chain_stream(*, start: datetime, end: datetime, batch: int = BATCH) -> Iterator[Chain]:
    """Every chain that began in [start, end), oldest first, built `batch` at a time."""
    refs = chain_refs(start=start, end=end).order_by("at", "id")
    pending: list[tuple[str, int]] = []
    for kind, chain_id, _at in refs.iterator(chunk_size=batch):
        pending.append((kind, chain_id))
        if len(pending) == batch:
            yield from chains_for(pending)
            pending = []
    if pending:
        yield from chains_for(pending)


def chain_lines(*, start: datetime, end: datetime) -> Iterator[str]:
    """One JSON document per chain begun in [start, end), oldest first, each on its own line."""
    for chain in chain_stream(start=start, end=end):
        yield json.dumps(chain.as_dict(), separators=(",", ":")) + "\n"
