"""The cycle's sentiment input: the base asset's rolling news sentiment at the candle's close, recorded
in the decision; a headline published at or after that close never reaches that decision (even when
it is already stored as the cycle runs); no news is missing, not neutral."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest

from apps.audit.models import DecisionLog
from apps.strategies.models import Strategy
from apps.traders.services import trader_create, trader_start
from apps.traders.services.cycles import trader_cycle_run
from tests.exchanges.paper.helpers import bar_time, flat, paper_account, release, store_bars
from tests.factories import RiskProfileFactory
from tests.news.helpers import scored_item

pytestmark = pytest.mark.django_db
# Buy the dip on good news; leave on bad news.
SPEC = {
    "timeframe": "1h",
    "markets": ["BTC/USDT:USDT"],
    "entry": {
        "long": {"all": [{"left": "close", "op": "<", "right": 19000}, {"left": "sentiment", "op": ">", "right": 0}]}
    },
    "exit": {"long": {"left": "sentiment", "op": "<", "right": 0}},
}
BARS = [flat(20000), flat(18900), flat(20000), flat(20000)]


def news_trader(operator):
    market, feed = store_bars(BARS)
    trader = trader_create(
        name="news dip buyer",
        account=paper_account(),
        risk_profile=RiskProfileFactory(symbol_cooldown_seconds=0, risk_per_trade=D("0.1")),
        strategy=Strategy.objects.create(name="dip on good news", spec=SPEC),
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


def run_cycles(trader, feed, bars, capture) -> list[DecisionLog]:
    for index in bars:
        release(feed, index)
        with capture(execute=True):
            trader_cycle_run(trader_id=trader.pk)
    return list(DecisionLog.objects.order_by("candle_open_time"))


def close_of(index: int):
    return bar_time(index) + timedelta(hours=1)


def test_a_headline_after_the_close_never_reaches_that_close_s_decision(
    operator, django_capture_on_commit_callbacks
) -> None:
    trader, feed = news_trader(operator)
    scored_item(close_of(1) - timedelta(minutes=30), 0.6)
    # Already stored when the cycle runs (a worker deciding a little late), but published at and just
    # after the close: a cycle that looked ahead would read a mean of -0.6 and not enter.
    scored_item(close_of(1), -0.9)
    scored_item(close_of(1) + timedelta(milliseconds=1), -0.9)

    decisions = run_cycles(trader, feed, [1, 2], django_capture_on_commit_callbacks)

    entry, after = decisions
    assert entry.action == "enter_long" and entry.outcome == "traded"
    assert entry.inputs["sentiment"] == 0.6 and "sentiment 0.60" in entry.reason
    # The next close reads all three: (0.6 - 0.9 - 0.9) / 3 = -0.4, and the exit rule fires.
    assert after.inputs["sentiment"] == pytest.approx(-0.4)
    assert after.action == "exit"


def test_without_news_sentiment_is_missing_and_the_rule_reading_it_does_not_enter(
    operator, django_capture_on_commit_callbacks
) -> None:
    trader, feed = news_trader(operator)
    scored_item(close_of(1) - timedelta(minutes=30), 0.6, assets=("ETH",))  # another asset's news

    (decision,) = run_cycles(trader, feed, [1], django_capture_on_commit_callbacks)

    assert decision.action == "hold" and decision.inputs["sentiment"] is None
    assert "sentiment missing" in decision.reason
