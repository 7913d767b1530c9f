"""Reproducible AI backtests: `backtest --trader` on an AI trader replays the decision log where the
prompt hash matches, asks the model through the response cache otherwise, and a second run over the
same candles is identical and makes no model call."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from apps.backtests.trader_runs import TraderPeriod, trader_backtest
from apps.traders.services.cycles import trader_cycle_run
from tests.backtests.conftest import run_backtest_command
from tests.exchanges.paper.helpers import release
from tests.traders.ai.conftest import BARS, ai_trader, answered

pytestmark = pytest.mark.django_db


def backtest(trader):
    return trader_backtest(name=trader.name, symbol=None, period=TraderPeriod(), cash=D(10000))


def test_a_second_run_is_identical_and_makes_no_model_call(operator, account, model_config, scripted) -> None:
    trader, _feed = ai_trader(operator, account, model_config, start=False)
    # Enter on the second candle, close on the fourth, hold otherwise.
    scripted.script(
        answered(action="hold"),
        answered(),
        answered(action="hold"),
        answered(action="close"),
        *(answered(action="hold") for _ in BARS[4:]),
    )

    first = backtest(trader)
    asked = len(scripted.requests)
    second = backtest(trader)

    assert asked == len(BARS) and len(scripted.requests) == asked
    assert first.ai_sources == {"model": len(BARS)} and second.ai_sources == {"cache": len(BARS)}
    assert len(first.run.trades) == 1 and first.run.trades == second.run.trades
    assert first.run.trades[0].side == "long"
    assert list(first.run.result.equity) == list(second.run.result.equity)


def test_a_stored_decision_with_the_same_prompt_is_replayed(
    operator, account, model_config, scripted, django_capture_on_commit_callbacks
) -> None:
    trader, feed = ai_trader(operator, account, model_config)
    scripted.script(answered(action="hold", reason="live hold"))
    release(feed, 0)
    with django_capture_on_commit_callbacks(execute=True):
        trader_cycle_run(trader_id=trader.pk)
    scripted.script(*(answered(action="hold") for _ in BARS[1:]))

    run = backtest(trader)

    # The first candle's prompt is the live one (same candles, equity and no position): replayed.
    assert run.ai_sources == {"replay": 1, "model": len(BARS) - 1}
    assert len(scripted.requests) == len(BARS)


def test_the_backtest_command_says_where_the_answers_came_from(
    operator, account, model_config, scripted, tmp_path
) -> None:
    trader, _feed = ai_trader(operator, account, model_config, start=False)
    scripted.script(*(answered(action="hold") for _ in BARS))

    first = run_backtest_command("--trader", trader.name, out=tmp_path / "one")
    second = run_backtest_command("--trader", trader.name, out=tmp_path / "two")

    assert (
        f"AI answers: {len(BARS)} (0 replayed from the decision log, 0 from the response cache, {len(BARS)} asked"
        in first
    )
    assert (
        f"AI answers: {len(BARS)} (0 replayed from the decision log, {len(BARS)} from the response cache, 0 asked"
        in second
    )
