"""Drill: a worker killed at a random point of a trader's cycle (DESIGN.md safety invariant 2; issue #15,
"proof under faults"). PostgreSQL only (the killed worker is a forked process on its own connection).

Each run: the trader's cycle (decide on the released candle, preview, risk gate, execute, then the plan's
task: entry, stop-loss, take-profit on the local exchange emulator, through the real ccxt client) runs in a
child process that is SIGKILLed at a random moment: at a random boundary of its code (before or after a
database write, an exchange request or the cycle's commit; see crash.BOUNDARIES), or after a random delay.
Then the worker "restarts" and runs what a restarted worker runs: the reconciliation enqueued at worker
start (`reconcile_trades`) and the minute's trader cycle (`run_trader_cycle`)

- at once: the dead worker's lease still holds its plan, so that plan only has to be *resumable*;
- once its lease expired and the resend delay passed (the clock moved on): everything has converged.

Asserted after each: no client order id twice on the exchange; every order the exchange holds has its
Execution row, committed as sent (nothing reached the exchange unrecorded); after convergence exactly one
decision and one plan for the candle, protected (stop-loss and take-profit open on the exchange) with the
position the plan bought, and the plan's executions agreeing with the exchange.

DRILL_SEED=<n> replays a failing series (the seed is in every failure message); DRILL_RUNS sets the number
of kills per exchange (default 50 on Binance USDⓈ-M and 50 on Gate: 100 runs).
"""

from __future__ import annotations

import os
import random
import socket

import pytest
from django.utils import timezone

from apps.traders.models import OPEN_PLAN_STATUSES, TradePlan
from apps.traders.services.cycles import trader_cycle_run
from tests.drills.checks import check_converged, check_no_duplicate_and_all_recorded, restart, time_passes
from tests.drills.conftest import DrillDesk, needs_postgresql
from tests.drills.crash import ChildResult, run_in_child

RUNS = int(os.environ.get("DRILL_RUNS", "50"))
SEED = int(os.environ.get("DRILL_SEED") or random.SystemRandom().randrange(2**31))
PlanStatus = TradePlan.Status


def _check_resumable(desk: DrillDesk, child: ChildResult, where: str) -> None:
    """Right after the restart: every plan is protected, finished, or still held by the dead worker's lease
    (it resumes when the lease expires); a position is open only for a plan that is one of these."""
    check_no_duplicate_and_all_recorded(desk, where)
    dead_owner = f"{socket.gethostname()}:{child.pid}:"
    for plan in TradePlan.objects.all():
        held_by_dead = plan.lease_owner.startswith(dead_owner) and plan.lease_until > timezone.now()
        settled = plan.status == PlanStatus.PROTECTION_PLACED or plan.status not in OPEN_PLAN_STATUSES
        assert held_by_dead or settled, (
            f"{where}: plan {plan.pk} is {plan.status}, not leased by the dead worker (lease {plan.lease_owner!r})"
        )
    if desk.position() and not TradePlan.objects.filter(status__in=OPEN_PLAN_STATUSES).exists():
        pytest.fail(f"{where}: the exchange holds {desk.position()} that no open plan accounts for")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("emulator", ["binanceusdm", "gate"], indirect=True)
def test_a_worker_killed_anywhere_in_a_cycle_loses_nothing_and_duplicates_nothing(drill_desk: DrillDesk) -> None:
    needs_postgresql("the killed worker is a forked process with its own database connection")
    desk = drill_desk
    cycle = lambda: trader_cycle_run(trader_id=desk.trader.pk)  # noqa: E731

    # A clean run measures the cycle: how many boundaries it passes and how long it takes.
    clean = run_in_child(cycle)
    assert not clean.killed and not clean.error, clean.error
    assert desk.emu.wait_idle()
    check_converged(desk, "the clean run")
    boundaries, duration = len(clean.passed), clean.seconds

    rng = random.Random(f"{SEED}-{desk.emu.exchange}")
    kinds: dict[str, int] = {}
    for run in range(RUNS):
        desk.reset()
        if rng.random() < 0.6:
            point = rng.randint(1, boundaries)
            child = run_in_child(cycle, kill_at=point)
            how = f"killed at boundary {point} of {boundaries}"
        else:
            delay = rng.uniform(0, duration * 1.1)
            child = run_in_child(cycle, kill_after=delay)
            how = f"killed {delay * 1000:.0f} ms after the fork (a clean cycle takes {duration * 1000:.0f} ms)"
        last = child.passed[-1] if child.passed else "before any boundary"
        where = f"DRILL_SEED={SEED} {desk.emu.exchange} run {run}: {how}, last passed {last!r}"
        assert not child.error, f"{where}: the child failed before it was killed: {child.error}"
        kinds[last if child.killed else "finished"] = kinds.get(last if child.killed else "finished", 0) + 1
        assert desk.emu.wait_idle(), f"{where}: the emulator is still busy"

        restart(desk)
        _check_resumable(desk, child, f"{where}; restarted at once")
        time_passes()
        restart(desk)
        check_converged(desk, f"{where}; restarted after the lease and resend delay")
    print(f"\nDRILL_SEED={SEED} {desk.emu.exchange}: {RUNS} kills; where they struck: {sorted(kinds.items())}")
    assert sum(n for last, n in kinds.items() if last != "finished") >= RUNS // 2, kinds
