"""A running trader trades on its own: the cycle decides on each released candle, enters through the
trade plan path, exits on the exit rule, and records every decision once."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from apps.audit.models import DecisionLog
from apps.strategies.models import Strategy
from apps.traders.models import TradePlan, Trader
from apps.traders.services import trader_create, trader_start
from apps.traders.services.cycles import trader_cycle_run
from tests.exchanges.paper.helpers import bar_time, flat, paper_account, release, store_bars
from tests.factories import RiskProfileFactory

pytestmark = pytest.mark.django_db
SPEC = {
    "timeframe": "1h",
    "markets": ["BTC/USDT:USDT"],
    "entry": {"long": {"left": "close", "op": "<", "right": 19000}},
    "exit": {"long": {"left": "close", "op": ">", "right": 21000}},
}
# Bar 1 closes below 19,000 (entry), bar 3 above 21,000 (exit).
BARS = [flat(20000), flat(18900), flat(20000), flat(21500), flat(21500)]


def running_trader(operator) -> Trader:
    market, feed = store_bars(BARS)
    strategy = Strategy.objects.create(name="dip", spec=SPEC)
    trader = trader_create(
        name="dip buyer",
        account=paper_account(),
        risk_profile=RiskProfileFactory(symbol_cooldown_seconds=0, risk_per_trade=D("0.1")),
        strategy=strategy,
        markets=[market.pk],
        sizing="fixed",
        sizing_pct=D(10),
        stop_loss="percent",
        stop_loss_value=D(50),
        take_profit="none",
        take_profit_value=D(0),
    )
    trader_start(trader=trader, user=operator)
    return trader, feed


def test_the_cycle_enters_on_the_entry_rule_and_exits_on_the_exit_rule(
    operator, django_capture_on_commit_callbacks
) -> None:
    trader, feed = running_trader(operator)
    outcomes = []
    for index in range(5):
        release(feed, index)
        with django_capture_on_commit_callbacks(execute=True):
            report = trader_cycle_run(trader_id=trader.pk)
        outcomes.append(report.markets[0].outcome)
    assert outcomes == ["held", "traded", "held", "traded", "held"]
    decisions = list(DecisionLog.objects.order_by("candle_open_time"))
    assert [d.action for d in decisions] == ["hold", "enter_long", "hold", "exit", "hold"]
    assert [d.candle_open_time for d in decisions] == [bar_time(i) for i in range(5)]
    plan = TradePlan.objects.get()
    assert (plan.status, plan.source, plan.side) == (TradePlan.Status.COMPLETED, "trader", "buy")
    assert decisions[1].plan == plan and decisions[1].realised_pnl is not None and decisions[1].realised_pnl > 0
    # 10 % of 10,000 equity with its 0.04 % fee at 18,900: 0.052 BTC at step 0.001.
    assert plan.quantity == D("0.052")


def test_a_second_run_on_the_same_candle_does_nothing(operator, django_capture_on_commit_callbacks) -> None:
    trader, feed = running_trader(operator)
    release(feed, 1)
    with django_capture_on_commit_callbacks(execute=True):
        trader_cycle_run(trader_id=trader.pk)
        again = trader_cycle_run(trader_id=trader.pk)
    assert again.markets[0].outcome == "skipped"
    assert TradePlan.objects.count() == 1 and DecisionLog.objects.count() == 1
