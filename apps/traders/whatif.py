"""What-if: a stored decision's recorded inputs re-run through a risk profile as it is today (the
pure RiskManager), and, for an AI decision, through another model config (the ai router), shown
beside what happened.

Nothing is sent to an exchange and no plan, decision or comparison is stored: the comparison is
computed on request and shown. Asking a model is the one exception that leaves a trace, by design:
the router records the call's token usage (budgets count it) and the response cache keeps the
answer, so asking again the same question costs nothing.

The decision log records the price, indicator values, sentiment, position, equity and halt the
decision read, not the account's free margin or its positions on other markets; the what-if says
which stand-ins it used (`assumptions`), so a verdict that differs for that reason is not misread.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Max

from apps.ai.decide import ai_decide
from apps.ai.models import ModelConfig
from apps.audit.models import DecisionLog
from apps.core.errors import ServiceValidationError
from apps.core.numbers import money, shown
from apps.exchanges.adapters.paper_engine import TAKER_FEE_RATE
from apps.exchanges.models import ExchangeAccount
from apps.market.candles_io import datetime_to_ms
from apps.market.models import Market
from apps.traders import cycle
from apps.traders.models import RiskProfile, TradePlan, Trader
from apps.traders.risk import AccountSnapshot, HaltKind, OpenPosition, PlanRequest, RiskManager
from apps.traders.selectors import market_terms, trader_entry_rules
from apps.traders.services import ai
from apps.traders.services.cycles import atr_id, recent_candles
from apps.traders.services.plans import market_limits

# What a decision's inputs snapshot must hold to be re-run (older or failed decisions lack them).
REQUIRED_INPUTS = ("price", "values", "equity")
WHATIF_CALLER = "whatif:"


@dataclass(frozen=True)
class Side:
    """One side of the comparison: the decision, the order it asked for and the risk gate's report."""

    action: str
    reason: str
    request: dict[str, Any] | None  # the order put to the risk gate; None: no entry
    risk: dict[str, Any] | None  # RiskReport.as_dict(); None: nothing was put to the gate
    model: dict[str, Any] | None  # the model's name, tokens, cost and prompt hash; None: not asked


@dataclass(frozen=True)
class WhatIf:
    decision_id: int
    risk_profile: str
    model_config: str | None
    original: Side
    what_if: Side
    assumptions: tuple[str, ...]

    @property
    def sides(self) -> tuple[Side, Side]:
        return self.original, self.what_if

    @property
    def rules(self) -> list[dict[str, Any]]:
        """Each rule's check on both sides (original, what-if; None: not run), `changed` where the verdicts differ."""
        before = {check["rule"]: check for check in (self.original.risk or {}).get("checks", [])}
        after = {check["rule"]: check for check in (self.what_if.risk or {}).get("checks", [])}
        names = list(before) + [name for name in after if name not in before]
        return [
            {
                "rule": name,
                "sides": (before.get(name), after.get(name)),
                "changed": (before.get(name) or {}).get("verdict") != (after.get(name) or {}).get("verdict"),
            }
            for name in names
        ]

    def as_dict(self) -> dict[str, Any]:
        return {
            "decision_id": self.decision_id,
            "risk_profile": self.risk_profile,
            "model_config": self.model_config,
            "original": vars(self.original),
            "what_if": vars(self.what_if),
            "assumptions": list(self.assumptions),
        }


# --- the recorded inputs -------------------------------------------------------------------------


def recorded_cycle_inputs(decision: DecisionLog) -> cycle.CycleInputs:
    """The cycle inputs the decision read, from its snapshot. ServiceValidationError naming what is
    missing when the snapshot cannot be re-run."""
    inputs = decision.recorded_inputs()
    missing = [name for name in REQUIRED_INPUTS if inputs.get(name) in (None, "")]
    if missing:
        raise ServiceValidationError(
            "decision",
            f"decision {decision.pk} was recorded without {' or '.join(missing)} in its inputs snapshot "
            "(an older or failed decision): it cannot be re-run",
        )
    position = inputs.get("position")
    market = decision.market
    return cycle.CycleInputs(
        symbol=market.symbol,
        candle_open_ms=datetime_to_ms(decision.candle_open_time),
        price=Decimal(str(inputs["price"])),
        signal=inputs.get("signal"),
        indicators=inputs["values"],
        sentiment=inputs.get("sentiment"),
        position=None
        if not position
        else cycle.Position(position["side"], Decimal(position["quantity"]), Decimal(position["entry_price"])),
        equity=Decimal(str(inputs["equity"])),
        can_short=market.type != Market.Type.SPOT,
        busy=inputs.get("busy") or "",
    )


def _account(decision: DecisionLog, inputs: cycle.CycleInputs) -> AccountSnapshot:
    market = decision.market
    positions = ()
    if inputs.position is not None:
        notional = inputs.position.quantity * inputs.position.entry_price
        positions = (OpenPosition(symbol=market.symbol, base=market.base, notional=notional),)
    last = TradePlan.objects.filter(
        trader_id=decision.trader_id, market=market, submitted_at__lt=decision.decided_at
    ).aggregate(last=Max("submitted_at"))["last"]
    return AccountSnapshot(
        equity=inputs.equity,
        free_margin=inputs.equity,
        positions=positions,
        last_entry_ms={market.symbol: _ms(last)} if last is not None else {},
        now_ms=_ms(decision.decided_at),
    )


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


# --- the order and the gate ----------------------------------------------------------------------


def _request_dict(request: PlanRequest, market: Market) -> dict[str, Any]:
    def price(value: Decimal | None) -> str | None:
        return None if value is None else shown(value, "price", market)

    return {
        "side": request.side,
        "quantity": None if request.quantity is None else shown(request.quantity, "amount", market),
        "entry_price": price(request.entry_price),
        "stop_loss": price(request.stop_loss),
        "take_profit": price(request.take_profit),
        "leverage": request.leverage,
    }


def _stored_request(plan: TradePlan) -> PlanRequest:
    """The order the decision's plan put to the gate."""
    return PlanRequest(
        symbol=plan.market.symbol,
        side=plan.side,
        entry_price=plan.entry_price or plan.reference_price,
        stop_loss=plan.stop_loss,
        take_profit=plan.take_profit,
        leverage=plan.leverage,
        quantity=plan.requested_quantity,
        live=plan.live,
        fee_rate=TAKER_FEE_RATE[plan.market.exchange],
    )


def _new_request(trader: Trader, market: Market, decision: cycle.Decision, inputs: cycle.CycleInputs) -> PlanRequest:
    """The order the cycle would make of `decision` (plan_entry, as the worker's cycle calls it),
    entering at the recorded close. Raises cycle.LevelUnavailable when no level can be set."""
    entry = cycle.plan_entry(
        decision.action,
        close=inputs.price,
        equity=inputs.equity,
        atr=inputs.indicators.get(atr_id(trader)),
        rules=trader_entry_rules(trader=trader),
        market=market_terms(market=market),
        terms=decision.terms,
    )
    return PlanRequest(
        symbol=market.symbol,
        side=entry.order_side,
        entry_price=inputs.price,
        stop_loss=entry.stop_loss,
        take_profit=entry.take_profit,
        leverage=entry.leverage or trader.leverage,
        quantity=entry.quantity,
        live=trader.account.mode == ExchangeAccount.Mode.LIVE,
        fee_rate=TAKER_FEE_RATE[market.exchange],
    )


def _model_dict(answer: cycle.ModelAnswer | None) -> dict[str, Any] | None:
    if answer is None:
        return None
    return {
        "model": answer.model,
        "prompt_hash": answer.prompt_hash,
        "prompt_version": answer.prompt_version,
        "tokens_in": answer.tokens_in,
        "tokens_out": answer.tokens_out,
        "cost": None if answer.cost is None else str(answer.cost),
        "source": answer.source,
        "evidence": [dict(item) for item in answer.evidence],
    }


# --- the two sides -------------------------------------------------------------------------------


def _original(decision: DecisionLog) -> Side:
    plan = decision.plan
    model = None
    if decision.ai_model:
        model = {
            "model": decision.ai_model,
            "prompt_hash": decision.prompt_hash,
            "prompt_version": decision.prompt_version,
            "tokens_in": decision.tokens_in,
            "tokens_out": decision.tokens_out,
            "cost": None if decision.cost is None else str(decision.cost),
            "source": "recorded",
            "evidence": decision.evidence_items(),
        }
    return Side(
        action=decision.action,
        reason=decision.reason,
        request=_request_dict(_stored_request(plan), decision.market) if plan is not None else None,
        risk=decision.risk_report,
        model=model,
    )


def _recorded_decision(decision: DecisionLog, inputs: cycle.CycleInputs) -> cycle.Decision:
    """The stored decision as the cycle made it (an AI entry with the model's own terms)."""
    if decision.ai_plan:
        answer = cycle.ModelAnswer(
            plan=decision.ai_plan, no_trade_reason="", model=decision.ai_model, prompt_hash="", prompt_version=None
        )
        made = cycle.plan_decision(answer, inputs)
        return cycle.Decision(made.action, decision.reason, terms=made.terms)
    return cycle.Decision(cycle.Action(decision.action), decision.reason)


def _asked(
    decision: DecisionLog, trader: Trader, inputs: cycle.CycleInputs, config: ModelConfig
) -> tuple[cycle.Decision, cycle.ModelAnswer | None]:
    """The decision `config`'s model makes on the recorded inputs, asked now."""
    if inputs.busy:
        return cycle.Decision(cycle.Action.HOLD, f"waiting: {inputs.busy} (the model was not asked)"), None
    market = decision.market
    built = ai.prompt_build(
        trader=trader,
        market=market,
        timeframe=decision.timeframe,
        inputs=inputs,
        candles=recent_candles(market, decision.timeframe, decision.candle_open_time),
    )
    answered = ai_decide(
        config=config,
        prompt=built.prompt,
        bounds=built.bounds,
        caller=f"{WHATIF_CALLER}{ai.trader_caller(trader)}",
        use_cache=True,
    )
    answer = ai.model_answer(answered, built)
    return cycle.plan_decision(answer, inputs), answer


def _gate(
    decision: DecisionLog, request: PlanRequest, inputs: cycle.CycleInputs, profile: RiskProfile
) -> dict[str, Any]:
    recorded = decision.recorded_inputs().get("halt")
    halt = HaltKind(recorded) if recorded in {kind.value for kind in HaltKind} else None
    report = RiskManager(profile.limits()).evaluate(
        request, _account(decision, inputs), market_limits(decision.market), halt=halt
    )
    return report.as_dict()


def decision_what_if(*, decision_id: int, risk_profile_id: int, model_config_id: int | None = None) -> WhatIf:
    """Decision `decision_id` beside the same inputs re-run through risk profile `risk_profile_id`
    (as it is now) and, for an AI decision, through model config `model_config_id`. Sends no order
    and stores no row but the model call's usage. ServiceValidationError names what is missing."""
    decision = (
        DecisionLog.objects.select_related("trader__account", "trader__risk_profile", "market", "plan__market")
        .filter(pk=decision_id)
        .first()
    )
    if decision is None:
        raise ServiceValidationError("decision", f"no decision with id {decision_id}")
    profile = RiskProfile.objects.filter(pk=risk_profile_id).first()
    if profile is None:
        raise ServiceValidationError("risk_profile", f"no risk profile with id {risk_profile_id}")
    config = None
    if model_config_id is not None:
        if decision.mode != cycle.AI_MODE:
            raise ServiceValidationError(
                "model_config",
                f"decision {decision.pk} was decided by {decision.mode}: only an AI decision is re-asked",
            )
        config = ModelConfig.objects.filter(pk=model_config_id).first()
        if config is None:
            raise ServiceValidationError("model_config", f"no model config with id {model_config_id}")
    inputs = recorded_cycle_inputs(decision)
    # The trader as the what-if sees it: the chosen profile in place of its own, in memory only.
    trader = copy.copy(decision.trader)
    trader.risk_profile = profile
    market = decision.market
    assumptions = [
        f"account as recorded at the decision: equity {money(inputs.equity)} {market.quote}; its free margin "
        "is not recorded, so the equity stands in for it",
        f"open positions: only the recorded one on {market.symbol} (none)"
        if inputs.position is None
        else f"open positions: only the recorded {inputs.position.side} on {market.symbol}; others are not recorded",
        f"market step, minimums and fee rate of {market.symbol} as they are today",
    ]
    answer = None
    if config is not None:
        made, answer = _asked(decision, trader, inputs, config)
        assumptions.append(
            f"model config {config.name} asked now, with the prompt rebuilt from the recorded inputs, today's "
            "prompt template and the stored candles and headlines up to the candle (a repeat is answered "
            "from the response cache)"
        )
    else:
        made = _recorded_decision(decision, inputs)
    request, note = None, ""
    if made.action.side is None:
        note = "no entry: nothing is put to the risk gate"
    elif config is None and decision.plan is not None:
        request = _stored_request(decision.plan)
        assumptions.append(f"the order of plan {decision.plan.pk} as it was put to the gate")
    else:
        try:
            request = _new_request(trader, market, made, inputs)
        except cycle.LevelUnavailable as exc:
            note = f"no entry: {exc}"
        else:
            assumptions.append(
                f"the entry sized by today's trader rules at the recorded close {shown(inputs.price, 'price', market)}"
            )
    what_if = Side(
        action=made.action.value,
        reason="; ".join(part for part in (made.reason, note) if part),
        request=_request_dict(request, market) if request is not None else None,
        risk=_gate(decision, request, inputs, profile) if request is not None else None,
        model=_model_dict(answer),
    )
    return WhatIf(
        decision_id=decision.pk,
        risk_profile=profile.name,
        model_config=config.name if config is not None else None,
        original=_original(decision),
        what_if=what_if,
        assumptions=tuple(assumptions),
    )
