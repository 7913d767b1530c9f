"""A held cycle's queries are pinned: the cycle runs for every trader on every candle, so a query
added to it is paid by every trader every minute (bench/bench_cycle.py)."""

from __future__ import annotations

import pytest

from apps.traders.models import KillSwitch, Trader
from apps.traders.services.cycles import trader_cycle_run
from tests.exchanges.paper.helpers import release
from tests.traders.cycles.test_cycle_flow import running_trader

pytestmark = pytest.mark.django_db
# Whether the trader is an AI trader to ask ahead (outside the lock; a rules trader stops there);
# the trader's row (locked) and its markets; the market's horizon and whether it was decided; the
# paper settlement (open orders, plans to advance); the new candles; the open plan; the paper
# equity (state, positions, open orders, positions); the halt (kill switch, risk state), read once;
# the news sentiment at the new candles' closes; the decision and its live event; the trader's heartbeat
# and its live event; and the two savepoints (begin, release) of cycle and market.
HELD_CYCLE_QUERIES = 24


def test_a_held_cycle_stays_within_its_queries(operator, django_assert_max_num_queries) -> None:
    trader, feed = running_trader(operator)
    release(feed, 0)
    assert trader_cycle_run(trader_id=trader.pk).markets[0].outcome == "held"  # fills the indicator cache
    release(feed, 2)
    with django_assert_max_num_queries(HELD_CYCLE_QUERIES):
        report = trader_cycle_run(trader_id=trader.pk)
    assert report.markets[0].outcome == "held"
    trader.refresh_from_db()
    assert trader.status == Trader.Status.RUNNING and trader.heartbeat_at is not None


def test_a_halt_read_by_a_held_cycle_still_halts_the_trader(operator) -> None:
    """The halt the decision read is the one the cycle's end sets the status from."""
    trader, feed = running_trader(operator)
    release(feed, 0)
    KillSwitch.objects.update_or_create(pk=KillSwitch.SINGLETON_PK, defaults={"engaged": True})
    report = trader_cycle_run(trader_id=trader.pk)
    assert report.markets[0].outcome == "held"
    trader.refresh_from_db()
    assert trader.status == Trader.Status.HALTED
