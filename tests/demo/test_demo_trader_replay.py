"""What a newcomer sees after `make run`: the demo trader decides on the replay's first candles and a
trade of its reaches "completed" within minutes of replay.

The replay is driven by hand, one tick per simulated minute (apps.market.replay.market_data_collect,
what the worker's schedule calls): each tick releases a candle per market, which enqueues the
trader's cycle (django-q2 runs synchronously in the tests). Nothing sleeps.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command

from apps.audit.models import DecisionLog
from apps.market.demo import DEMO_MARKETS, DEMO_SERIES
from apps.market.replay import market_data_collect
from apps.traders.models import TradePlan, Trader
from tests.conftest import shared_data_path

pytestmark = pytest.mark.django_db
# The replay starts REPLAY_START_BARS (1,000) candles in; an hour of replay after that is plenty.
DEMO_BARS = 1000 + 60
MINUTES = 30


def real_demo_data(shared: Path, bars: int) -> Path:
    """The first `bars` candles of each real demo file, so load_demo imports a small slice of them."""
    ohlcv = shared / "ohlcv"
    ohlcv.mkdir(parents=True)
    for spec in DEMO_MARKETS:
        for _timeframe, pattern, _synthetic in DEMO_SERIES:
            name = pattern.format(pair=spec.pair)
            rows = json.loads(shared_data_path("ohlcv", name).read_text(encoding="utf-8"))
            (ohlcv / name).write_text(json.dumps(rows[:bars]), encoding="utf-8")
    return shared


def replay_minute(django_capture_on_commit_callbacks) -> None:
    """One tick of the worker's replay schedule, with every task it enqueues run to the end."""
    with django_capture_on_commit_callbacks(execute=True):
        market_data_collect()


def test_the_demo_trader_decides_at_once_and_completes_a_trade_within_minutes(
    tmp_path, settings, django_capture_on_commit_callbacks
) -> None:
    settings.SHARED_DATA_DIR = real_demo_data(tmp_path / "data", DEMO_BARS)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("load_demo", stdout=io.StringIO())
    trader = Trader.objects.get(name="Paper desk")
    assert trader.status == Trader.Status.RUNNING

    replay_minute(django_capture_on_commit_callbacks)
    # The first minute: one decision per market, each with the RSI it read.
    first = list(DecisionLog.objects.filter(trader=trader))
    assert sorted(d.market.symbol for d in first) == ["BTC/USDT:USDT", "ETH/USDT:USDT"]
    assert all(d.inputs["values"]["rsi_14"] is not None and d.outcome != "error" for d in first)

    completed_at = None
    for minute in range(2, MINUTES + 1):
        replay_minute(django_capture_on_commit_callbacks)
        if TradePlan.objects.filter(trader=trader, status=TradePlan.Status.COMPLETED).exists():
            completed_at = minute
            break
    assert completed_at is not None, f"no trade completed in {MINUTES} replayed minutes"
    plan = TradePlan.objects.filter(trader=trader, status=TradePlan.Status.COMPLETED).first()
    assert (plan.source, plan.side) == ("trader", "buy")
    entry = DecisionLog.objects.get(plan=plan, action=DecisionLog.Action.ENTER_LONG)
    assert entry.outcome == DecisionLog.Outcome.TRADED and entry.realised_pnl is not None
    assert not DecisionLog.objects.filter(outcome=DecisionLog.Outcome.ERROR).exists()
