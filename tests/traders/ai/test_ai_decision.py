"""The AI decision maker (pure): when the model is asked, how its validated plan becomes the cycle's
decision, and how an AI entry is sized and levelled by plan_entry."""

from __future__ import annotations

from decimal import ROUND_DOWN
from decimal import Decimal as D

import pytest

from apps.traders import cycle
from apps.traders.cycle import Action, AIDecision, CycleInputs, EntryTerms, ModelAnswer, Position

RULES = cycle.EntryRules(
    sizing="risk",
    sizing_pct=D(1),
    stop_loss=cycle.LevelRule("percent", D(2)),
    take_profit=cycle.LevelRule("none", D(0)),
)
MARKET = cycle.MarketTerms(tick=D("0.1"), step=D("0.001"), fee_rate=D("0.0004"), slippage=D("0.0002"))


def inputs(**changes) -> CycleInputs:
    values = {
        "symbol": "BTC/USDT:USDT",
        "candle_open_ms": 0,
        "price": D(20000),
        "signal": None,
        "indicators": {"rsi_14": 25.0},
        "sentiment": None,
        "position": None,
        "equity": D(10000),
    }
    return CycleInputs(**(values | changes))


def answer(action: str = "open_long", **plan) -> ModelAnswer:
    values = {
        "action": action,
        "symbol": "BTC/USDT:USDT",
        "size": 0.25,
        "leverage": 3,
        "stop_loss": 19500.04,
        "take_profit": 21000.0,
        "confidence": 0.6,
        "reason": "because",
        "evidence": [],
    }
    return ModelAnswer(plan=values | plan, no_trade_reason="", model="m", prompt_hash="h", prompt_version=1)


class Asked:
    def __init__(self, reply: ModelAnswer) -> None:
        self.reply, self.calls = reply, 0

    def __call__(self, _inputs: CycleInputs) -> ModelAnswer:
        self.calls += 1
        return self.reply


def test_on_signal_the_model_is_asked_only_when_the_strategy_fires() -> None:
    ask = Asked(answer())
    maker = AIDecision(ask, ask_on=cycle.ASK_ON_SIGNAL)

    assert maker.decide(inputs()).action == Action.HOLD and ask.calls == 0
    assert maker.decide(inputs(signal="long")).action == Action.ENTER_LONG and ask.calls == 1


def test_nothing_is_asked_while_an_order_is_on_its_way() -> None:
    ask = Asked(answer())
    decision = AIDecision(ask, ask_on=cycle.ASK_EVERY_CYCLE).decide(inputs(busy="the entry of plan 3"))
    assert (decision.action, decision.reason, ask.calls) == (Action.HOLD, "waiting: the entry of plan 3", 0)


@pytest.mark.parametrize(
    ("reply", "state", "action", "reason"),
    [
        (answer(), {}, Action.ENTER_LONG, "because"),
        (answer("open_short"), {"can_short": False}, Action.HOLD, "a spot market cannot short"),
        (answer("open_short"), {"position": Position("long", D(1), D(19000))}, Action.HOLD, "no adding, no reversal"),
        (answer("close", size=0), {"position": Position("long", D(1), D(19000))}, Action.EXIT, "because"),
        (answer("close", size=0), {}, Action.HOLD, "there is no position"),
        (answer("hold", size=0), {}, Action.HOLD, "because"),
        (
            ModelAnswer(plan=None, no_trade_reason="timeout", model="m", prompt_hash="h", prompt_version=1),
            {},
            Action.HOLD,
            "no trade: timeout",
        ),
    ],
)
def test_the_plan_becomes_the_decision(reply, state, action, reason) -> None:
    decision = AIDecision(Asked(reply), ask_on=cycle.ASK_EVERY_CYCLE).decide(inputs(**state))
    assert decision.action == action and reason in decision.reason
    assert decision.answer is reply
    assert (decision.terms is not None) == (action == Action.ENTER_LONG)


def test_an_ai_entry_spends_its_size_of_equity_with_the_models_levels_on_the_tick() -> None:
    terms = EntryTerms(size=D("0.25"), leverage=3, stop_loss=D("19500.04"), take_profit=D("21000"))

    entry = cycle.plan_entry(
        Action.ENTER_LONG, close=D(20000), equity=D(10000), atr=None, rules=RULES, market=MARKET, terms=terms
    )

    fill = D(20000) * (1 + D("0.0002"))
    # 25 % of 10,000 pays the notional and its fee at the fill; the step rounds down.
    assert entry.quantity == (D(2500) / (fill * D("1.0004"))).quantize(D("0.001"), rounding=ROUND_DOWN)
    assert (entry.stop_loss, entry.take_profit, entry.leverage) == (D("19500.0"), D("21000"), 3)


def test_a_model_level_on_the_wrong_side_of_the_fill_is_no_entry() -> None:
    # Valid against the close (19,999 < 20,000), but the long fills at 20,004 after slippage: fine;
    # a target at 20,002 lies below that fill.
    terms = EntryTerms(size=D("0.1"), leverage=1, stop_loss=D(19000), take_profit=D(20002))
    with pytest.raises(cycle.LevelUnavailable, match="take-profit 20002.0 is not above the expected fill"):
        cycle.plan_entry(
            Action.ENTER_LONG, close=D(20000), equity=D(10000), atr=None, rules=RULES, market=MARKET, terms=terms
        )


def test_the_ai_mode_needs_its_bound_decision_maker() -> None:
    with pytest.raises(ValueError, match="the ai mode needs its decision maker"):
        cycle.decision_maker("ai")
    maker = AIDecision(Asked(answer()))
    assert cycle.decision_maker("ai", ai=maker) is maker
