"""Exactly once (DESIGN.md, safety invariant 2), proven on the exchange's side: the real ccxt client against the
local emulator, each plan a market entry with a stop-loss and a take-profit.

- a response lost after the exchange accepted the order (dropped connection, 5xx after accept) is looked up,
  never resent, on the entry and on the protective order endpoint, also when the lookup itself fails first;
- a worker killed between the request and the database update leaves a lease that a second worker respects
  until it expires, then resumes the plan by looking the order up;
- a worker killed after committing send_count but before the request left: the order is resent with the same
  client order id, but only TRADE_RESEND_AFTER_SECONDS after it was first sent;
- two workers at the same moment (threads, PostgreSQL) and two owners interleaving by hand (any database);
- the Execution row is committed (send_count 1) when the exchange receives its order.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from apps.exchanges.adapters.ccxt_adapter import CcxtAdapter
from apps.exchanges.emulator.wire import Request
from apps.traders.models import Alert, Execution, PlanEvent, TradePlan
from apps.traders.services.execution import plan_claim, plan_release, trade_plan_process
from tests.traders.trading.conftest import Desk, WorkerDied, expire_lease, kill_lease, status_of

PlanStatus = TradePlan.Status
PLACED = PlanStatus.PROTECTION_PLACED
SENDERS = {"entry": "create_order", "stop_loss": "create_protective_order"}


def executions(plan: TradePlan) -> dict[str, tuple[int, str]]:
    """client order id -> (send_count, status)."""
    rows = Execution.objects.filter(plan=plan).values_list("client_order_id", "send_count", "status")
    return {cid: (sent, status) for cid, sent, status in rows}


def all_sent_once(plan: TradePlan) -> None:
    assert {cid: sent for cid, (sent, _status) in executions(plan).items()} == {
        f"to-{plan.pk}-en1": 1,
        f"to-{plan.pk}-sl1": 1,
        f"to-{plan.pk}-tp1": 1,
    }


def die_once(monkeypatch: pytest.MonkeyPatch, method: str, *, after_sending: bool) -> list[str]:
    """Make CcxtAdapter.`method` kill the worker on its first call: after the real request was answered
    (`after_sending`), or before any request left. Later calls go through. Returns every client order id
    the method was called with."""
    real = getattr(CcxtAdapter, method)
    calls: list[str] = []

    def wrapper(self: CcxtAdapter, request: Any) -> Any:
        calls.append(request.client_order_id)
        if len(calls) > 1:
            return real(self, request)
        if after_sending:
            real(self, request)  # reached the exchange, which accepted it and answered...
        raise WorkerDied  # ...to a process that is gone before it could write anything down

    monkeypatch.setattr(CcxtAdapter, method, wrapper)
    return calls


# --- (a) the response is lost after the exchange accepted the order -----------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("fault", ["drop_response", "error_after_accept"])
@pytest.mark.parametrize("endpoint", ["order", "protective"])
def test_a_lost_response_is_looked_up_not_resent(desk: Desk, fault: str, endpoint: str) -> None:
    plan = desk.plan()
    getattr(desk.emu.faults, fault)(method="POST", path=desk.path(endpoint))

    assert trade_plan_process(plan_id=plan.pk) == PLACED

    assert desk.emu.faults.active() == []  # the fault did strike
    desk.assert_exactly_once(plan)
    assert desk.order_posts() == [desk.path("order"), desk.path("protective"), desk.path("protective")]
    all_sent_once(plan)


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", ["order", "protective"])
def test_a_lost_response_whose_lookup_fails_too_is_settled_by_a_later_run(desk: Desk, endpoint: str) -> None:
    """The adapter's own lookup fails as well: the outcome stays unknown (an alert), nothing is resent, and
    the next run finds the order."""
    plan = desk.plan()
    desk.emu.faults.drop_response(method="POST", path=desk.path(endpoint))
    lookups_down = desk.emu.faults.http_error(method="GET", path=desk.path(endpoint) + "*", count=None)

    first = trade_plan_process(plan_id=plan.pk)

    leg = "en1" if endpoint == "order" else "sl1"
    assert first == (PlanStatus.ENTRY_SUBMITTED if endpoint == "order" else PlanStatus.ENTRY_FILLED)
    assert executions(plan)[f"to-{plan.pk}-{leg}"] == (1, Execution.Status.UNKNOWN)
    assert Alert.objects.filter(plan=plan, kind=Alert.Kind.ORDER_UNKNOWN).count() == 1
    assert desk.order_counts(plan)[f"to-{plan.pk}-{leg}"] == 1  # the exchange has it; TradeOps does not know

    desk.emu.faults.remove(lookups_down.id)
    assert trade_plan_process(plan_id=plan.pk) == PLACED

    desk.assert_exactly_once(plan)
    all_sent_once(plan)


# --- (b) the worker dies between the request and the database update -----------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("leg", ["entry", "stop_loss"])
def test_a_worker_killed_after_sending_is_resumed_by_a_lookup(
    desk: Desk, monkeypatch: pytest.MonkeyPatch, leg: str
) -> None:
    plan = desk.plan()
    calls = die_once(monkeypatch, SENDERS[leg], after_sending=True)
    with pytest.raises(WorkerDied):
        trade_plan_process(plan_id=plan.pk, owner="doomed")
    kill_lease(plan, owner="doomed")
    cid = f"to-{plan.pk}-{'en1' if leg == 'entry' else 'sl1'}"
    assert desk.order_counts(plan)[cid] == 1  # on the exchange...
    assert executions(plan)[cid] == (1, Execution.Status.NEW)  # ...while TradeOps only knows it may be
    stuck_at = status_of(plan)
    posts = len(desk.order_posts())
    requests = len(desk.emu.requests)

    # While the dead worker's lease runs, another worker gets nothing to do: not even a lookup.
    assert trade_plan_process(plan_id=plan.pk, owner="rescuer") == stuck_at
    assert (len(desk.order_posts()), len(desk.emu.requests)) == (posts, requests)
    assert TradePlan.objects.get(pk=plan.pk).lease_owner == "doomed"

    # Once it expires, the plan is resumed: the order is looked up, not sent again.
    expire_lease(plan)
    assert trade_plan_process(plan_id=plan.pk, owner="rescuer") == PLACED
    assert calls.count(cid) == 1
    desk.assert_exactly_once(plan)
    all_sent_once(plan)
    assert TradePlan.objects.get(pk=plan.pk).lease_owner == ""


@pytest.mark.django_db(transaction=True)
@override_settings(TRADE_RESEND_AFTER_SECONDS=30)
def test_a_plan_resumed_long_after_its_worker_died_finds_the_entry_instead_of_resending(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Minutes later: past the resend delay, and past Gate's 60 s window for finding a finished order by its
    text. The lookup must still find the filled entry (Gate: among the finished orders), or the resend would
    open the position a second time: Gate does not refuse a repeated text, Binance only while it is open."""
    plan = desk.plan()
    calls = die_once(monkeypatch, "create_order", after_sending=True)
    with pytest.raises(WorkerDied):
        trade_plan_process(plan_id=plan.pk, owner="doomed")
    entry = f"to-{plan.pk}-en1"
    ten_minutes = timedelta(minutes=10)
    Execution.objects.filter(client_order_id=entry).update(last_sent_at=timezone.now() - ten_minutes)
    with desk.emu.lock:  # the emulator's clock also signs requests: the order gets older instead
        [order] = desk.exchange_orders(plan)
        order.created_ms -= int(ten_minutes.total_seconds() * 1000)
        order.finished_ms -= int(ten_minutes.total_seconds() * 1000)

    assert trade_plan_process(plan_id=plan.pk, owner="rescuer") == PLACED
    assert calls == [entry]
    assert executions(plan)[entry] == (1, Execution.Status.FILLED)
    desk.assert_exactly_once(plan)


@pytest.mark.django_db(transaction=True)
@override_settings(TRADE_RESEND_AFTER_SECONDS=30)
def test_a_worker_killed_before_the_request_left_is_resent_only_after_the_resend_delay(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = desk.plan()
    calls = die_once(monkeypatch, "create_order", after_sending=False)
    with pytest.raises(WorkerDied):
        trade_plan_process(plan_id=plan.pk, owner="doomed")
    kill_lease(plan, owner="doomed")
    expire_lease(plan)
    entry = f"to-{plan.pk}-en1"
    assert executions(plan)[entry] == (1, Execution.Status.NEW)  # committed as sent...
    assert desk.exchange_orders(plan) == []  # ...but it never left

    # Not found, but it was "sent" moments ago: it may still be on its way. Nothing is resent.
    assert trade_plan_process(plan_id=plan.pk, owner="rescuer") == PlanStatus.ENTRY_SUBMITTED
    assert trade_plan_process(plan_id=plan.pk, owner="rescuer") == PlanStatus.ENTRY_SUBMITTED
    assert calls == [entry] and desk.exchange_orders(plan) == []
    assert executions(plan)[entry] == (1, Execution.Status.UNKNOWN)

    # TRADE_RESEND_AFTER_SECONDS later it is sent again, with the same client order id.
    Execution.objects.filter(client_order_id=entry).update(last_sent_at=timezone.now() - timedelta(seconds=31))
    assert trade_plan_process(plan_id=plan.pk, owner="rescuer") == PLACED
    assert calls == [entry, entry]
    assert executions(plan)[entry] == (2, Execution.Status.FILLED)
    assert PlanEvent.objects.filter(plan=plan, reason__contains="sending it again with the same client order id")
    desk.assert_exactly_once(plan)


# --- (c) two workers at the same moment ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_send_each_order_once(desk: Desk) -> None:
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL: two threads writing through SQLite's in-memory test database (shared cache) "
            "fail with 'database table is locked'; the hand-interleaved variants below cover SQLite"
        )
    plan = desk.plan()
    for kind in ("order", "protective"):
        desk.emu.faults.latency(200, path=desk.path(kind) + "*", count=None)  # both workers' requests overlap
    barrier = threading.Barrier(2)
    results: dict[str, list[str]] = {}
    failures: list[BaseException] = []

    def worker(name: str) -> None:
        seen: list[str] = []
        try:
            barrier.wait(timeout=10)
            deadline = time.monotonic() + 15
            # Each keeps trying until the plan is protected: the loser is refused while the winner holds
            # the lease, then finds nothing left to send.
            while time.monotonic() < deadline:
                seen.append(trade_plan_process(plan_id=plan.pk, owner=name))
                if seen[-1] == PLACED:
                    break
                time.sleep(0.02)
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)
        finally:
            results[name] = seen
            connection.close()

    threads = [threading.Thread(target=worker, args=(name,)) for name in ("worker-a", "worker-b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)

    assert failures == []
    assert results["worker-a"][-1] == PLACED and results["worker-b"][-1] == PLACED
    # They did overlap: one protected the plan in its first call, the other was refused meanwhile.
    calls = sorted(len(seen) for seen in results.values())
    assert calls[0] == 1 and calls[1] > 1
    desk.assert_exactly_once(plan)
    assert desk.order_posts() == [desk.path("order"), desk.path("protective"), desk.path("protective")]
    all_sent_once(plan)


@pytest.mark.django_db
def test_a_second_owner_gets_nothing_to_do_while_the_first_holds_the_plan(desk: Desk) -> None:
    plan = desk.plan()
    assert plan_claim(plan_id=plan.pk, owner="worker-a")
    assert not plan_claim(plan_id=plan.pk, owner="worker-b")

    assert trade_plan_process(plan_id=plan.pk, owner="worker-b") == PlanStatus.PENDING
    assert desk.order_posts() == [] and not Execution.objects.filter(plan=plan).exists()
    assert TradePlan.objects.get(pk=plan.pk).lease_owner == "worker-a"

    plan_release(plan_id=plan.pk, owner="worker-b")  # releasing someone else's lease does nothing
    assert TradePlan.objects.get(pk=plan.pk).lease_owner == "worker-a"
    plan_release(plan_id=plan.pk, owner="worker-a")
    assert trade_plan_process(plan_id=plan.pk, owner="worker-b") == PLACED
    desk.assert_exactly_once(plan)


@pytest.mark.django_db
def test_a_worker_whose_lease_expired_mid_request_neither_duplicates_nor_goes_on(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Worker A is so slow that its lease expires while its entry request is on its way; worker B takes the
    plan over, does not find the order yet, and does not resend it. A's request then lands; A records the
    fill, notices it lost the lease and stops; the next run protects the position."""
    plan = desk.plan()
    real = CcxtAdapter.create_order
    seen_by_b: list[str] = []

    def slow_request(self: CcxtAdapter, request: Any) -> Any:
        if not seen_by_b:
            expire_lease(plan)
            seen_by_b.append(trade_plan_process(plan_id=plan.pk, owner="worker-b"))
            assert desk.exchange_orders(plan) == []  # B sent nothing
        return real(self, request)

    monkeypatch.setattr(CcxtAdapter, "create_order", slow_request)

    assert trade_plan_process(plan_id=plan.pk, owner="worker-a") == PlanStatus.ENTRY_FILLED
    assert seen_by_b == [PlanStatus.ENTRY_SUBMITTED]
    assert desk.order_counts(plan) == {f"to-{plan.pk}-en1": 1}  # A stopped after losing the lease
    assert TradePlan.objects.get(pk=plan.pk).lease_owner == ""

    assert trade_plan_process(plan_id=plan.pk, owner="worker-b") == PLACED
    desk.assert_exactly_once(plan)
    all_sent_once(plan)


# --- the Execution row is committed before its order is sent --------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_execution_is_committed_when_the_exchange_receives_its_order(desk: Desk) -> None:
    plan = desk.plan()
    order_paths = {desk.path("order"), desk.path("protective")}
    snapshots: list[dict[str, tuple[int, str]]] = []
    errors: list[BaseException] = []

    def look_from_another_connection(request: Request) -> None:
        # Runs on the emulator's handler thread, so on a database connection of its own: it sees only
        # what the worker committed.
        if request.method != "POST" or request.path not in order_paths:
            return
        try:
            snapshots.append(executions(plan))
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)
        finally:
            connection.close()

    desk.emu.request_hooks.append(look_from_another_connection)
    assert trade_plan_process(plan_id=plan.pk) == PLACED

    assert errors == []
    en, sl, tp = (f"to-{plan.pk}-{leg}" for leg in ("en1", "sl1", "tp1"))
    new = Execution.Status.NEW
    assert snapshots == [
        {en: (1, new)},
        {en: (1, Execution.Status.FILLED), sl: (1, new)},
        {en: (1, Execution.Status.FILLED), sl: (1, Execution.Status.OPEN), tp: (1, new)},
    ]
    desk.assert_exactly_once(plan)
