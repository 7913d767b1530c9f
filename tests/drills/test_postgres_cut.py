"""Drill: PostgreSQL "restarted" mid-cycle. Restarting the machine's server is not ours to do; what a restart does
to a worker is what `pg_terminate_backend` does: the cycle's connection dies between two statements, and whatever
it had not committed is rolled back by the server. The cut is made at the moment the exchange receives one of the
cycle's requests (an emulator request hook, on another connection), so it falls

- inside the cycle's transaction (the balance read before deciding): the decision and its plan roll back;
- after the entry's Execution was committed and the exchange accepted the entry: TradeOps cannot record it;
- the same for the stop-loss.

The cycle fails with a database error (the worker logs it; django-q starts its next task on a new connection),
and the next run (the restarted worker's reconcile and cycle) resumes: the orders are looked up, never sent
twice, and the plan ends protected.
"""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection

from apps.exchanges.emulator.wire import Request
from apps.traders.services.cycles import trader_cycle_run
from tests.drills.checks import check_converged, check_no_duplicate_and_all_recorded, restart, time_passes
from tests.drills.conftest import DrillDesk, needs_postgresql

BALANCE = {"binanceusdm": "/fapi/v3/account", "gate": "/api/v4/futures/usdt/accounts"}
ORDER = {"binanceusdm": "/fapi/v1/order", "gate": "/api/v4/futures/usdt/orders"}
PROTECTIVE = {"binanceusdm": "/fapi/v1/algoOrder", "gate": "/api/v4/futures/usdt/price_orders"}


def _cut_on(desk: DrillDesk, *, method: str, paths: dict[str, str], backend_pid: int) -> list[str]:
    """Terminate `backend_pid` when the exchange first receives `method` on the path; returns what was cut."""
    cut: list[str] = []

    def hook(request: Request) -> None:
        if cut or request.method != method or request.path != paths[desk.emu.exchange]:
            return
        try:
            with connection.cursor() as cursor:  # the handler thread's own connection
                cursor.execute("SELECT pg_terminate_backend(%s)", [backend_pid])
                cut.append(f"{method} {request.path}")
        finally:
            connection.close()

    desk.emu.request_hooks.append(hook)
    return cut


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("emulator", ["binanceusdm", "gate"], indirect=True)
@pytest.mark.parametrize(
    ("method", "paths"),
    [("GET", BALANCE), ("POST", ORDER), ("POST", PROTECTIVE)],
    ids=["in-the-cycle-transaction", "entry-sent", "stop-loss-sent"],
)
def test_a_database_cut_mid_cycle_fails_cleanly_and_the_next_run_resumes(
    drill_desk: DrillDesk, method: str, paths: dict[str, str]
) -> None:
    needs_postgresql("pg_terminate_backend ends the cycle's server connection")
    desk = drill_desk
    connection.ensure_connection()
    cut = _cut_on(desk, method=method, paths=paths, backend_pid=connection.connection.info.backend_pid)

    with pytest.raises(DatabaseError):
        trader_cycle_run(trader_id=desk.trader.pk)
    assert cut, "the cut never happened"
    connection.close()  # what the worker does before its next task (django-q closes unusable connections)
    assert desk.emu.wait_idle()
    check_no_duplicate_and_all_recorded(desk, f"after the cut at {cut[0]}")

    restart(desk)
    time_passes()  # the cut worker's lease (it could not release it) expires; the resend delay passes
    restart(desk)
    check_converged(desk, f"cut at {cut[0]}, then restarted")
