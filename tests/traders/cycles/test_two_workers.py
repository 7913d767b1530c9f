"""Exactly once across workers: two workers running one trader's cycle at the same moment act once,
and a worker killed mid-cycle leaves nothing behind, so the retried task acts once."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from apps.audit.models import DecisionLog
from apps.exchanges.models import PaperOrder
from apps.traders.models import TradePlan
from apps.traders.services import cycles
from apps.traders.services.cycles import trader_cycle_run
from tests.exchanges.paper.helpers import release
from tests.traders.cycles.test_cycle_flow import running_trader


class WorkerDied(BaseException):
    """Stands in for a worker process killed mid-cycle (not an Exception: nothing may catch it)."""


@pytest.mark.django_db(transaction=True)
def test_two_workers_on_one_trader_and_candle_act_once(operator, monkeypatch) -> None:
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL: FOR UPDATE SKIP LOCKED is what lets the second worker skip; SQLite serialises "
            "writers instead, and two threads on its in-memory test database fail with 'table is locked'"
        )
    trader, feed = running_trader(operator)
    release(feed, 1)  # the entry candle
    slow = cycles._decide_and_act

    def held_inside_the_lock(*args, **kwargs):
        time.sleep(0.5)  # the other worker arrives while this one holds the trader's row
        return slow(*args, **kwargs)

    monkeypatch.setattr(cycles, "_decide_and_act", held_inside_the_lock)
    barrier = threading.Barrier(2)
    reports, failures = {}, []

    def worker(name: str) -> None:
        try:
            barrier.wait(timeout=10)
            reports[name] = trader_cycle_run(trader_id=trader.pk)
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert failures == []
    notes = sorted(report.note for report in reports.values())
    assert notes == ["ran", "skipped: another worker runs its cycle"]
    assert DecisionLog.objects.count() == 1 and TradePlan.objects.count() == 1
    assert PaperOrder.objects.filter(type=PaperOrder.Type.MARKET).count() == 1


@pytest.mark.django_db
def test_a_worker_killed_mid_cycle_leaves_nothing_and_the_retry_acts_once(
    operator, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    trader, feed = running_trader(operator)
    release(feed, 1)
    execute = cycles.trade_plan_execute

    def killed(**kwargs):
        raise WorkerDied

    monkeypatch.setattr(cycles, "trade_plan_execute", killed)  # after the plan was previewed and stored
    with pytest.raises(WorkerDied), django_capture_on_commit_callbacks(execute=True):
        trader_cycle_run(trader_id=trader.pk)
    assert (TradePlan.objects.count(), DecisionLog.objects.count(), PaperOrder.objects.count()) == (0, 0, 0)

    monkeypatch.setattr(cycles, "trade_plan_execute", execute)
    with django_capture_on_commit_callbacks(execute=True):
        trader_cycle_run(trader_id=trader.pk)
        again = trader_cycle_run(trader_id=trader.pk)
    assert again.markets[0].outcome == "skipped"
    decision = DecisionLog.objects.get()
    assert (decision.outcome, decision.error, TradePlan.objects.count()) == ("traded", "", 1)
    assert PaperOrder.objects.filter(type=PaperOrder.Type.MARKET).count() == 1
