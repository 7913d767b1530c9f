"""The entry plan both the worker's cycle and `backtest --trader` make: levels and size from the
expected fill (close ± slippage), on the market's tick and step, never spending more than equity."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from apps.traders.cycle import Action, EntryRules, LevelRule, LevelUnavailable, MarketTerms, plan_entry

MARKET = MarketTerms(tick=D("0.1"), step=D("0.001"), fee_rate=D("0.0004"), slippage=D("0.0002"))
PERCENT_LEVELS = {"stop_loss": LevelRule("percent", D(1)), "take_profit": LevelRule("percent", D(2))}


def rules(sizing: str = "fixed", pct: str = "100", **overrides) -> EntryRules:
    return EntryRules(sizing=sizing, sizing_pct=D(pct), **{**PERCENT_LEVELS, **overrides})


def test_a_long_is_planned_from_the_slipped_fill_on_tick_and_step() -> None:
    plan = plan_entry(Action.ENTER_LONG, close=D(20000), equity=D(10000), atr=None, rules=rules(), market=MARKET)
    fill = D(20000) * (1 + MARKET.slippage)
    assert (plan.side, plan.order_side, plan.expected_fill) == ("long", "buy", fill)
    assert plan.stop_loss == (fill * D("0.99")).quantize(MARKET.tick)
    assert plan.take_profit == (fill * D("1.02")).quantize(MARKET.tick)
    assert plan.quantity % MARKET.step == 0
    # 100 % sizing: notional plus the entry fee fit in the equity, one step more would not.
    spend = lambda quantity: quantity * fill * (1 + MARKET.fee_rate)  # noqa: E731
    assert spend(plan.quantity) <= D(10000) < spend(plan.quantity + MARKET.step)


def test_a_short_fills_below_the_close_with_its_stop_above() -> None:
    plan = plan_entry(Action.ENTER_SHORT, close=D(20000), equity=D(10000), atr=None, rules=rules(), market=MARKET)
    assert plan.order_side == "sell" and plan.expected_fill < D(20000)
    assert plan.take_profit < plan.expected_fill < plan.stop_loss


def test_risk_sizing_loses_at_most_the_smaller_of_the_trader_and_profile_risk() -> None:
    # A 2 % stop: the 1 % risk budget (100) buys about half the equity, so the budget binds.
    capped = rules(sizing="risk", pct="5", risk_cap_pct=D(1), stop_loss=LevelRule("percent", D(2)))
    plan = plan_entry(Action.ENTER_LONG, close=D(20000), equity=D(10000), atr=None, rules=capped, market=MARKET)
    loss_at_stop = plan.quantity * (plan.expected_fill - plan.stop_loss)
    assert loss_at_stop <= D(100) < (plan.quantity + MARKET.step) * (plan.expected_fill - plan.stop_loss)


def test_atr_levels_wait_for_the_atr() -> None:
    atr_rules = rules(stop_loss=LevelRule("atr", D(2)))
    with pytest.raises(LevelUnavailable):
        plan_entry(Action.ENTER_LONG, close=D(20000), equity=D(10000), atr=None, rules=atr_rules, market=MARKET)
    plan = plan_entry(Action.ENTER_LONG, close=D(20000), equity=D(10000), atr=50.0, rules=atr_rules, market=MARKET)
    assert plan.stop_loss == (plan.expected_fill - 100).quantize(MARKET.tick)


def test_hold_and_exit_are_no_entries() -> None:
    with pytest.raises(ValueError, match="no entry"):
        plan_entry(Action.EXIT, close=D(20000), equity=D(10000), atr=None, rules=rules(), market=MARKET)
