"""A trader's decision on one closed candle (pure; no Django): the same functions decide in the
worker's cycle (apps.traders.services.cycles) and in `backtest --trader` (apps.backtests.trader).

The decision reads what the cycle gathered (the strategy's accepted signal on the candle, the
indicator values, the sentiment, the position) and answers enter long / enter short / exit / hold
with the reason. It never sizes against the account's limits: the entry's quantity comes from
`plan_entry` (the trader's sizing and stop/target rules, from the expected fill) and then passes
the RiskManager like every plan.

Decision modes are `DecisionMaker`s, chosen by the trader's mode through `decision_maker`: `rules`
acts on the strategy's signals; `ai` (AIDecision) asks a model through a callable its caller binds
(the cycle's service, or the backtest's replay) and turns the validated plan into the same Decision,
whose entry then takes the same path: plan_entry, the RiskManager, execution.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum
from typing import Protocol

from apps.exchanges.adapters.paper_engine import slipped
from apps.exchanges.adapters.rounding import round_to_tick

LONG, SHORT = "long", "short"
PRICE_FIELDS = frozenset({"open", "high", "low", "close", "volume", "sentiment"})


class Action(StrEnum):
    ENTER_LONG = "enter_long"
    ENTER_SHORT = "enter_short"
    EXIT = "exit"
    HOLD = "hold"

    @property
    def side(self) -> str | None:
        """The entry's position side; None for exit and hold."""
        return {Action.ENTER_LONG: LONG, Action.ENTER_SHORT: SHORT}.get(self)


@dataclass(frozen=True)
class Position:
    side: str  # LONG or SHORT
    quantity: Decimal
    entry_price: Decimal


@dataclass(frozen=True)
class CycleInputs:
    """Everything one decision reads. `signal` is the strategy's accepted (not cooled-down) direction
    on this candle: "long", "short", "exit" or None. `busy` names an order of the trader still on
    its way (an entry not yet filled, an exit not yet done); the trader waits for it."""

    symbol: str
    candle_open_ms: int
    price: Decimal
    signal: str | None
    indicators: Mapping[str, float | None]
    sentiment: float | None
    position: Position | None
    equity: Decimal
    can_short: bool = True
    busy: str = ""


@dataclass(frozen=True)
class EntryTerms:
    """An AI entry's own terms: `size` is the fraction of equity spent on the position (with its
    fee, as fixed sizing), the levels are prices (rounded to the tick by plan_entry)."""

    size: Decimal
    leverage: int
    stop_loss: Decimal | None
    take_profit: Decimal | None


@dataclass(frozen=True)
class ModelAnswer:
    """What a model answered (or why it did not), as the decision log records it. `plan` is the
    validated plan as a dict (apps.ai.contract.TradePlanOutput's fields), None for no trade."""

    plan: Mapping | None
    no_trade_reason: str
    model: str
    prompt_hash: str
    prompt_version: int | None
    tokens_in: int = 0
    tokens_out: int = 0
    cost: Decimal | None = None
    latency_ms: int = 0
    budget_exhausted: bool = False
    # "model" (asked now), "cache" (the response cache answered), "replay" (a stored decision with
    # the same prompt hash), "none" (not asked: over the trader's budget)
    source: str = "model"
    evidence: tuple[Mapping, ...] = field(default=())


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str
    terms: EntryTerms | None = None  # an AI entry's size, leverage and levels; None: the trader's rules
    answer: ModelAnswer | None = None  # the model's answer when one was asked


class DecisionMaker(Protocol):
    mode: str

    def decide(self, inputs: CycleInputs) -> Decision: ...


def _number(value: float | None) -> str:
    return "missing" if value is None or not math.isfinite(value) else f"{value:.2f}"


def describe_inputs(inputs: CycleInputs) -> str:
    """The values the rule read, as a person reads them: "rsi_14 23.96, sentiment missing"."""
    parts = [f"{name} {_number(value)}" for name, value in inputs.indicators.items() if name not in PRICE_FIELDS]
    parts.append("sentiment missing" if inputs.sentiment is None else f"sentiment {inputs.sentiment:.2f}")
    return ", ".join(parts)


class RulesDecision:
    """Acts on the strategy's signals: enter on an entry signal when flat, exit on an exit signal
    when holding. Like the backtester, an opposite entry while a position is open is ignored (no
    reversal), and nothing is done while an order of the trader is on its way."""

    mode = "rules"

    def decide(self, inputs: CycleInputs) -> Decision:
        values = describe_inputs(inputs)
        if inputs.busy:
            return Decision(Action.HOLD, f"waiting: {inputs.busy}")
        position = inputs.position
        if position is not None:
            if inputs.signal == "exit":
                return Decision(Action.EXIT, f"exit rule fired ({values}): close the {position.side} position")
            return Decision(Action.HOLD, f"holding the {position.side} position ({values})")
        if inputs.signal == LONG:
            return Decision(Action.ENTER_LONG, f"long entry rule fired ({values})")
        if inputs.signal == SHORT:
            if not inputs.can_short:
                return Decision(Action.HOLD, f"short entry rule fired ({values}), but a spot market cannot short")
            return Decision(Action.ENTER_SHORT, f"short entry rule fired ({values})")
        return Decision(Action.HOLD, f"no entry rule fired ({values})")


AI_MODE = "ai"
ASK_ON_SIGNAL, ASK_EVERY_CYCLE = "signal", "cycle"
OPENING = {"open_long": Action.ENTER_LONG, "open_short": Action.ENTER_SHORT}


class AIDecision:
    """Asks a model for a trade plan (through `ask`, bound by the caller to the trader and market)
    when the strategy fires a signal, or on every candle (`ask_on`), and turns the validated plan
    into a Decision. Like the rules, it never adds to or reverses a position, and waits while an
    order of the trader is on its way. No plan (invalid answers, a timeout, a budget) is a hold
    with the reason."""

    mode = AI_MODE

    def __init__(self, ask: Callable[[CycleInputs], ModelAnswer], *, ask_on: str = ASK_ON_SIGNAL) -> None:
        self.ask = ask
        self.ask_on = ask_on

    def decide(self, inputs: CycleInputs) -> Decision:
        if inputs.busy:
            return Decision(Action.HOLD, f"waiting: {inputs.busy}")
        if self.ask_on == ASK_ON_SIGNAL and inputs.signal is None:
            return Decision(Action.HOLD, f"no signal: the model was not asked ({describe_inputs(inputs)})")
        answer = self.ask(inputs)
        return plan_decision(answer, inputs)


def _level(value: object) -> Decimal | None:
    return None if value is None else Decimal(repr(float(value)))  # type: ignore[arg-type]


def plan_decision(answer: ModelAnswer, inputs: CycleInputs) -> Decision:
    """The model's validated plan as the cycle's decision on `inputs`."""
    plan = answer.plan
    if plan is None:
        return Decision(Action.HOLD, f"no trade: {answer.no_trade_reason}"[:500], answer=answer)
    action, said = str(plan["action"]), str(plan.get("reason", ""))
    position = inputs.position
    if action == "hold":
        return Decision(Action.HOLD, said or "the model holds", answer=answer)
    if action == "close":
        if position is None:
            return Decision(
                Action.HOLD, f"the model asked to close, but there is no position; model: {said}", answer=answer
            )
        return Decision(Action.EXIT, said or f"the model closes the {position.side} position", answer=answer)
    entry = OPENING[action]
    if position is not None:
        note = f"already {position.side}: no adding, no reversal"
        return Decision(Action.HOLD, f"the model said {action}, {note}; model: {said}", answer=answer)
    if entry == Action.ENTER_SHORT and not inputs.can_short:
        return Decision(
            Action.HOLD, f"the model said open_short, but a spot market cannot short; model: {said}", answer=answer
        )
    terms = EntryTerms(
        size=Decimal(repr(float(plan["size"]))),
        leverage=int(plan["leverage"]),
        stop_loss=_level(plan.get("stop_loss")),
        take_profit=_level(plan.get("take_profit")),
    )
    return Decision(entry, said or action, terms=terms, answer=answer)


DECISION_MAKERS: dict[str, DecisionMaker] = {RulesDecision.mode: RulesDecision()}
MODES = (RulesDecision.mode, AI_MODE)


def decision_maker(mode: str, *, ai: DecisionMaker | None = None) -> DecisionMaker:
    """The mode's decision maker; the AI mode's is the caller's (`ai`), bound to its model."""
    if mode == AI_MODE:
        if ai is None:
            raise ValueError("the ai mode needs its decision maker (AIDecision bound to the trader's model)")
        return ai
    try:
        return DECISION_MAKERS[mode]
    except KeyError:
        raise ValueError(f"unknown decision mode {mode!r}; known: {', '.join(MODES)}") from None


# --- protective levels and sizing ----------------------------------------------------------------


@dataclass(frozen=True)
class LevelRule:
    """A stop-loss or take-profit rule: kind "none", "percent" (from the fill) or "atr" (multiples)."""

    kind: str
    value: Decimal


class LevelUnavailable(Exception):
    """An ATR level without an ATR value yet (the indicator is still warming up)."""


def protective_level(
    rule: LevelRule, *, side: str, price: Decimal, atr: float | None, tick: Decimal, stop: bool
) -> Decimal | None:
    """The stop-loss (`stop`) or take-profit price of an entry at `price`, on the market's tick;
    None when the rule is off. A stop lies on the losing side of the price, a target on the winning one."""
    if rule.kind == "none" or rule.value <= 0:
        return None
    if rule.kind == "percent":
        distance = price * rule.value / 100
    elif rule.kind == "atr":
        if atr is None or not math.isfinite(atr) or atr <= 0:
            raise LevelUnavailable("the ATR has no value yet (warming up)")
        distance = Decimal(repr(atr)) * rule.value
    else:
        raise ValueError(f"unknown level rule {rule.kind!r}")
    direction = 1 if side == LONG else -1
    if stop:
        direction = -direction
    level = round_to_tick(price + direction * distance, tick)
    if level <= 0:
        raise LevelUnavailable(f"the {'stop-loss' if stop else 'take-profit'} would be at or below zero")
    return level


def entry_quantity(
    *,
    sizing: str,
    pct: Decimal,
    equity: Decimal,
    price: Decimal,
    stop_loss: Decimal | None,
    fee_rate: Decimal,
    step: Decimal,
) -> Decimal:
    """The trader's own size, rounded down to the step; the RiskManager may still scale it down.

    fixed: `pct` % of equity pays the notional and its entry fee together, so 100 % never spends
    more than the account holds. risk: `pct` % of equity is lost if the stop is hit (quantity =
    budget / stop distance), and never more than 100 % of equity with its fee.
    """
    if equity <= 0 or price <= 0:
        return Decimal(0)
    budget = equity * pct / 100
    affordable = equity / (price * (1 + max(fee_rate, Decimal(0))))
    if sizing == "fixed":
        quantity = budget / (price * (1 + max(fee_rate, Decimal(0))))
    elif sizing == "risk":
        if stop_loss is None:
            raise ValueError("risk sizing needs a stop-loss")
        quantity = min(budget / abs(price - stop_loss), affordable)
    else:
        raise ValueError(f"unknown sizing {sizing!r}")
    if step <= 0:
        return quantity
    return (quantity / step).to_integral_value(rounding=ROUND_DOWN) * step


# --- the entry plan ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryRules:
    """A trader's sizing and protective rules. `risk_cap_pct` is the risk profile's risk per trade
    (percent of equity): risk sizing never asks for more than the profile allows."""

    sizing: str  # "fixed" or "risk"
    sizing_pct: Decimal
    stop_loss: LevelRule
    take_profit: LevelRule
    risk_cap_pct: Decimal | None = None


@dataclass(frozen=True)
class MarketTerms:
    """What an entry on a market costs and how its numbers round: `slippage` and `fee_rate` are
    fractions (2 bps is 0.0002), the taker fee because a trader enters at market."""

    tick: Decimal
    step: Decimal
    fee_rate: Decimal
    slippage: Decimal


@dataclass(frozen=True)
class EntryPlan:
    side: str  # LONG or SHORT
    expected_fill: Decimal  # the close moved against us by the slippage, as the market order fills
    quantity: Decimal  # on the step; 0 when the equity affords nothing
    stop_loss: Decimal | None  # on the tick
    take_profit: Decimal | None
    leverage: int | None = None  # an AI entry's; None: the trader's

    @property
    def order_side(self) -> str:
        return "buy" if self.side == LONG else "sell"


def _terms_entry(side: str, fill: Decimal, terms: EntryTerms, *, equity: Decimal, market: MarketTerms) -> EntryPlan:
    """An AI entry: the model's levels on the tick (each on its side of the expected fill, else no
    entry), `size` of equity spent as fixed sizing spends its percent."""
    levels = {}
    for stop, price in ((True, terms.stop_loss), (False, terms.take_profit)):
        if price is None:
            levels[stop] = None
            continue
        level = round_to_tick(price, market.tick)
        below = (side == LONG) == stop
        if level <= 0 or (level >= fill if below else level <= fill):
            name = "stop-loss" if stop else "take-profit"
            where = "below" if below else "above"
            raise LevelUnavailable(f"the model's {name} {level} is not {where} the expected fill {fill}")
        levels[stop] = level
    quantity = entry_quantity(
        sizing="fixed",
        pct=terms.size * 100,
        equity=equity,
        price=fill,
        stop_loss=levels[True],
        fee_rate=market.fee_rate,
        step=market.step,
    )
    return EntryPlan(side, fill, quantity, levels[True], levels[False], leverage=terms.leverage)


def plan_entry(
    action: Action,
    *,
    close: Decimal,
    equity: Decimal,
    atr: float | None,
    rules: EntryRules,
    market: MarketTerms,
    terms: EntryTerms | None = None,
) -> EntryPlan:
    """The entry a decision makes: levels and size from the expected fill (close ± slippage), the
    levels rounded to the tick and the size down to the step; from the trader's rules, or from an
    AI decision's `terms`. The worker's cycle and `backtest --trader` both call this, so their
    plans cannot drift apart.

    Raises LevelUnavailable when a level cannot be set (an ATR still warming up, a model's level on
    the wrong side of the fill)."""
    side = action.side
    if side is None:
        raise ValueError(f"{action} is no entry")
    fill = slipped(close, side, market.slippage)
    if terms is not None:
        return _terms_entry(side, fill, terms, equity=equity, market=market)
    levels = {
        stop: protective_level(rule, side=side, price=fill, atr=atr, tick=market.tick, stop=stop)
        for stop, rule in ((True, rules.stop_loss), (False, rules.take_profit))
    }
    pct = rules.sizing_pct
    if rules.sizing == "risk" and rules.risk_cap_pct is not None:
        pct = min(pct, rules.risk_cap_pct)
    quantity = entry_quantity(
        sizing=rules.sizing,
        pct=pct,
        equity=equity,
        price=fill,
        stop_loss=levels[True],
        fee_rate=market.fee_rate,
        step=market.step,
    )
    stop, target = levels[True], levels[False]
    return EntryPlan(side=side, expected_fill=fill, quantity=quantity, stop_loss=stop, take_profit=target)
