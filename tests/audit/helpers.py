"""Decisions for the decision log's tests: real ones from a trader's cycles, and plain rows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any

import factory

from apps.audit.models import DecisionLog
from apps.strategies.models import Strategy
from apps.traders.models import Trader
from apps.traders.services import trader_create, trader_start
from apps.traders.services.cycles import EVALUATIONS, trader_cycle_run
from tests.exchanges.paper.helpers import flat, paper_account, release, store_bars
from tests.factories import MarketFactory, RiskProfileFactory, TraderFactory

T0 = datetime(2024, 3, 1, tzinfo=UTC)
# Enters long below 19,000 and exits above 21,000, reading an RSI(2) on the way.
SPEC = {
    "timeframe": "1h",
    "markets": ["BTC/USDT:USDT"],
    "indicators": [{"id": "rsi_2", "kind": "rsi", "period": 2}],
    "entry": {"long": {"left": "close", "op": "<", "right": 19000}},
    "exit": {"long": {"left": "close", "op": ">", "right": 21000}},
}
# Held, entered (bar 1), held, exited (bar 3, a win), held.
BARS = [flat(20000), flat(18900), flat(20000), flat(21500), flat(21500)]
OUTCOMES = ["held", "traded", "held", "traded", "held"]


def traded_round_trip(operator: Any, run: Callable[[Callable[[], Any]], Any] = lambda cycle: cycle()) -> Trader:
    """A running paper trader's five cycles over BARS: one winning trade, entered and exited by the
    cycle through the trade plan path. `run` wraps each cycle (the on-commit capture of a test)."""
    EVALUATIONS.clear()  # a fresh worker: no indicator state left by another test
    market, feed = store_bars(BARS)
    trader = trader_create(
        name="RSI desk",
        account=paper_account(),
        risk_profile=RiskProfileFactory(symbol_cooldown_seconds=0, risk_per_trade=D("0.1")),
        strategy=Strategy.objects.create(name="dip with RSI", spec=SPEC),
        markets=[market.pk],
        sizing="fixed",
        sizing_pct=D(10),
        stop_loss="percent",
        stop_loss_value=D(50),
        take_profit="none",
        take_profit_value=D(0),
    )
    trader_start(trader=trader, user=operator)
    for index in range(len(BARS)):
        release(feed, index)
        run(lambda: trader_cycle_run(trader_id=trader.pk))
    return trader


class DecisionFactory(factory.django.DjangoModelFactory):
    """A plain decision row, for filters and figures that real cycles would take long to reach."""

    class Meta:
        model = DecisionLog

    trader = factory.SubFactory(TraderFactory)
    market = factory.SubFactory(MarketFactory)
    timeframe = "1h"
    candle_open_time = factory.Sequence(lambda n: T0 + timedelta(hours=n))
    mode = "rules"
    inputs = factory.LazyFunction(
        lambda: {
            "price": "20995.83",
            "values": {"close": 20995.83, "rsi_14": 23.9561},
            "sentiment": None,
            "equity": "10000",
        }
    )
    action = DecisionLog.Action.HOLD
    reason = "no rule fired"
    outcome = DecisionLog.Outcome.HELD
