"""A failing cycle is recorded and the next one goes on; three in a row stop the trader with an
alert. Halts block entries at once; a stopped trader's cycles stop; dispatch enqueues active traders."""

from __future__ import annotations

import pytest

from apps.audit.models import DecisionLog
from apps.traders.models import Alert, TradePlan, Trader
from apps.traders.services import cycles, kill_switch_engage, trader_stop
from apps.traders.services.cycles import trader_cycle_run, trader_cycles_dispatch, trader_cycles_enqueue
from tests.exchanges.paper.helpers import release
from tests.traders.cycles.test_cycle_flow import running_trader

pytestmark = pytest.mark.django_db


def run(trader: Trader, feed, index: int, capture) -> cycles.CycleReport:
    release(feed, index)
    with capture(execute=True):
        return trader_cycle_run(trader_id=trader.pk)


def broken(*args, **kwargs):
    raise RuntimeError("exchange said no")


def test_three_failed_cycles_in_a_row_put_the_trader_in_error_with_an_alert(
    operator, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    trader, feed = running_trader(operator)
    monkeypatch.setattr(cycles, "_settle_paper", broken)
    run(trader, feed, 0, django_capture_on_commit_callbacks)
    run(trader, feed, 1, django_capture_on_commit_callbacks)
    trader.refresh_from_db()
    assert (trader.status, trader.consecutive_failures) == (Trader.Status.RUNNING, 2)
    assert list(DecisionLog.objects.values_list("outcome", "error")) == [("error", "exchange said no")] * 2

    run(trader, feed, 2, django_capture_on_commit_callbacks)
    trader.refresh_from_db()
    assert trader.status == Trader.Status.ERROR and "3 cycles in a row failed" in trader.status_reason
    alert = Alert.objects.get(kind=Alert.Kind.TRADER_ERROR)
    assert alert.level == Alert.Level.CRITICAL and trader.name in alert.message
    with django_capture_on_commit_callbacks() as enqueued:
        assert trader_cycles_dispatch() == 0
    assert enqueued == []


def test_a_success_between_failures_resets_the_count(operator, monkeypatch, django_capture_on_commit_callbacks) -> None:
    trader, feed = running_trader(operator)
    settle = cycles._settle_paper
    monkeypatch.setattr(cycles, "_settle_paper", broken)
    run(trader, feed, 0, django_capture_on_commit_callbacks)
    monkeypatch.setattr(cycles, "_settle_paper", settle)
    run(trader, feed, 1, django_capture_on_commit_callbacks)
    trader.refresh_from_db()
    assert trader.consecutive_failures == 0 and trader.last_cycle_at is not None
    # Nothing new to decide is neither a failure nor a success.
    monkeypatch.setattr(cycles, "_settle_paper", broken)
    run(trader, feed, 2, django_capture_on_commit_callbacks)
    report = run(trader, feed, 2, django_capture_on_commit_callbacks)
    assert report.markets[0].outcome == "skipped"
    trader.refresh_from_db()
    assert trader.consecutive_failures == 1


def test_the_kill_switch_blocks_the_entry_at_once_and_the_trader_shows_halted(
    operator, django_capture_on_commit_callbacks
) -> None:
    trader, feed = running_trader(operator)
    kill_switch_engage(user=operator, reason="drill")
    report = run(trader, feed, 1, django_capture_on_commit_callbacks)
    decision = DecisionLog.objects.get()
    assert (report.markets[0].outcome, decision.action) == ("rejected", "enter_long")
    assert "trading halted: global" in decision.plan.status_reason
    assert TradePlan.objects.get().status == TradePlan.Status.REJECTED
    trader.refresh_from_db()
    assert trader.status == Trader.Status.HALTED


def test_a_stopped_trader_runs_no_cycle_and_is_not_dispatched(operator, django_capture_on_commit_callbacks) -> None:
    trader, feed = running_trader(operator)
    trader_stop(trader=trader, user=operator)
    report = run(trader, feed, 1, django_capture_on_commit_callbacks)
    assert (report.ran, report.note) == (False, "skipped: the trader is stopped")
    assert DecisionLog.objects.count() == 0
    with django_capture_on_commit_callbacks() as enqueued:
        assert trader_cycles_dispatch() == 0
        assert trader_cycles_enqueue(market=trader.markets.get(), timeframe="1h", source="replay") == 0
    assert enqueued == []


def test_released_candles_enqueue_the_traders_on_that_market_timeframe_and_price_source(
    operator, django_capture_on_commit_callbacks
) -> None:
    trader, _feed = running_trader(operator)  # a paper account on replayed prices
    market = trader.markets.get()
    with django_capture_on_commit_callbacks() as enqueued:
        assert trader_cycles_enqueue(market=market, timeframe="1m", source="replay") == 0
        assert trader_cycles_enqueue(market=market, timeframe="1h", source="exchange") == 0
        assert trader_cycles_enqueue(market=market, timeframe="1h", source="replay") == 1
        assert trader_cycles_dispatch() == 1
    assert len(enqueued) == 2


def test_the_heartbeat_moves_with_nothing_new_to_decide(operator, django_capture_on_commit_callbacks) -> None:
    trader, feed = running_trader(operator)
    run(trader, feed, 0, django_capture_on_commit_callbacks)
    trader.refresh_from_db()
    first = trader.heartbeat_at
    run(trader, feed, 0, django_capture_on_commit_callbacks)
    trader.refresh_from_db()
    assert trader.heartbeat_at > first and DecisionLog.objects.count() == 1
