"""Drill: the exchange fails for a sustained period (every request answered 503, or 429 rate limited, or so slow
the client times out while the exchange still processes it), starting right after a cycle committed a plan.

The worker goes on as it would for minutes (each round: the plan's task, the minute's reconciliation, and a
cycle on the next released candle). Asserted during the outage: alerts fire (the reconciliation failed; the
trader stopped after FAILURES_TO_ERROR failed cycles; an order whose answer was lost is "state unknown"), and no
client order id reaches the exchange twice. When the exchange recovers, the plan resumes by itself (orders looked
up, not resent) and ends protected; the trader an operator starts again trades on.

The timeout variant is the dangerous one: the exchange *does* place the entry whose answer timed out, so only
the lookup by client order id stands between a retry and a second position.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from apps.exchanges.adapters import factory
from apps.exchanges.emulator import ExchangeEmulator, testing
from apps.exchanges.emulator.wire import Request
from apps.traders import tasks
from apps.traders.models import Alert, TradePlan, Trader
from apps.traders.services import trader_start
from apps.traders.services.cycles import FAILURES_TO_ERROR, trader_cycle_run
from tests.drills.checks import check_converged, check_no_duplicate_and_all_recorded, restart, time_passes
from tests.drills.conftest import SYMBOL, DrillDesk
from tests.traders.trading.conftest import FAST_RETRY

CLIENT_TIMEOUT_MS = 250


def _timeouts_from_the_entry_on(emu: ExchangeEmulator) -> None:
    """From the entry order on, every answer comes after the client gave up; the exchange still acts on each.
    (From the entry, not before: the leverage calls before it would time out first, and the entry never leave.)"""
    slow = (CLIENT_TIMEOUT_MS + 150) / 1000

    def hook(request: Request) -> None:
        if request.method == "POST" and request.path == "/fapi/v1/order" and not emu.faults.active():
            emu.faults.latency(CLIENT_TIMEOUT_MS + 150, count=None)
            time.sleep(slow)  # this request's own delay (the rule counts from the next one)

    emu.request_hooks.append(hook)


OUTAGES: dict[str, Callable[[ExchangeEmulator], object]] = {
    "http_503": lambda emu: emu.faults.http_error(503, count=None),
    "rate_limited": lambda emu: emu.faults.rate_limit(retry_after=1, count=None),
    "timeouts": _timeouts_from_the_entry_on,
}
ROUNDS = FAILURES_TO_ERROR  # enough failed cycles in a row to stop the trader


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("emulator", ["binanceusdm"], indirect=True)
@pytest.mark.parametrize("outage", list(OUTAGES))
def test_a_sustained_exchange_outage_raises_alerts_duplicates_nothing_and_resumes(
    drill_desk: DrillDesk, monkeypatch: pytest.MonkeyPatch, operator: Any, outage: str
) -> None:
    desk = drill_desk
    enqueued: list[int] = []
    # The plan's task is held back, so the outage starts between the cycle's commit and the entry order.
    monkeypatch.setattr(
        "apps.traders.services.plans.async_task", lambda _task, plan_id, **_kw: enqueued.append(plan_id)
    )
    assert trader_cycle_run(trader_id=desk.trader.pk).markets[0].outcome == "traded"
    [plan_id] = enqueued
    monkeypatch.undo()

    with testing.aimed_at(desk.emu, enable_rate_limit=False, timeout_ms=CLIENT_TIMEOUT_MS, retry=FAST_RETRY):
        factory.adapter_for_account(desk.account).rules(SYMBOL)  # markets loaded before, as in a running worker
        OUTAGES[outage](desk.emu)
        for index in range(1, ROUNDS + 1):  # minutes of it
            tasks.process_trade_plan(plan_id)
            tasks.reconcile_trades()
            desk.release_candle(index)
            tasks.run_trader_cycle(desk.trader.pk)
            assert desk.emu.wait_idle()
            check_no_duplicate_and_all_recorded(desk, f"{outage}, round {index}")

    raised = set(Alert.objects.values_list("kind", flat=True))
    assert {Alert.Kind.RECONCILE_FAILED, Alert.Kind.TRADER_ERROR} <= raised, raised
    if outage == "timeouts":  # the entry was placed, its answer lost, and the lookups timed out too
        assert Alert.Kind.ORDER_UNKNOWN in raised, raised
        assert desk.order_counts() == {f"to-{plan_id}-en1": 1}
    assert Trader.objects.get(pk=desk.trader.pk).status == Trader.Status.ERROR
    assert TradePlan.objects.get(pk=plan_id).status in (TradePlan.Status.PENDING, TradePlan.Status.ENTRY_SUBMITTED)

    # The exchange is back (and the worker's clients wait their usual 2 s again, so a slow moment of a busy
    # machine cannot pass for the outage).
    desk.emu.faults.clear()
    desk.emu.request_hooks.clear()
    restart(desk)
    time_passes()  # an entry whose sending was never confirmed is resent only after the resend delay
    restart(desk)
    check_converged(desk, f"{outage}, after the exchange recovered")

    # The stopped trader trades on once an operator starts it again (the cycle reads the exchange again).
    trader_start(trader=Trader.objects.get(pk=desk.trader.pk), user=operator)
    desk.release_candle(ROUNDS + 1)
    report = trader_cycle_run(trader_id=desk.trader.pk)
    assert report.markets[0].outcome == "held", report
