"""Killing a worker for real: a trader's cycle runs in a forked child process that is SIGKILLed, either at
a chosen boundary of its own code (before or after a database write, an exchange request, the cycle's
commit) or by the parent after a random delay.

Why fork: the child is a copy of the test process (Django set up, the emulator's address and the drill's
data known), so it starts in milliseconds instead of the seconds a fresh interpreter takes, which is what
lets a hundred kills fit in a minute; and the kill is real: no `finally`, no rollback sent, the child's
PostgreSQL connection and its half-sent HTTP requests simply vanish, and PostgreSQL rolls back whatever
that backend had not committed, exactly as when a worker host dies. An in-process exception would run the
`finally` blocks (the lease release) and roll back through Django: not what a dead process does.

Boundaries are wrapped in the child only (it is thrown away), so production code carries no test hooks.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, NoReturn

from django.db import connections

from apps.exchanges.adapters import pool
from apps.exchanges.adapters.ccxt_adapter import CcxtAdapter
from apps.traders.services import cycles, execution, plans

# (owner, attribute) pairs whose calls are boundaries: the child may die just before or just after each.
# The module-level ones are looked up through their module's globals by the code that calls them.
BOUNDARIES: tuple[tuple[Any, str], ...] = (
    (cycles, "_decide_and_act"),  # the cycle's transaction is open (trader row locked)
    (cycles, "trade_plan_preview"),
    (cycles, "trade_plan_execute"),
    (cycles, "_finish"),
    (plans, "async_task"),  # runs on commit: the plan is committed, its task not started
    (execution, "plan_claim"),
    (execution, "_execution"),  # an Execution row committed (or not yet)
    (execution, "_save"),  # send_count committed before the request, the answer recorded after
    (execution, "plan_transition"),
    (execution, "plan_note"),
    (execution, "alert_raise"),
    (execution, "plan_release"),
    *(
        (CcxtAdapter, name)
        for name in (
            "fetch_balance",
            "fetch_ticker",
            "fetch_positions",
            "set_margin_mode",
            "set_leverage",
            "create_order",  # before: nothing left; after: the exchange has it, TradeOps does not know
            "create_protective_order",
            "fetch_order_by_client_id",
            "cancel_order",
        )
    ),
)


@dataclass(frozen=True)
class ChildResult:
    pid: int
    killed: bool  # died of SIGKILL (ours), rather than finishing
    passed: list[str]  # the boundaries the child passed, in order (the last one is where it died)
    seconds: float
    error: str = ""


def _arm(kill_at: int | None, report: Callable[[str], None]) -> None:
    count = 0

    def tick(where: str) -> None:
        nonlocal count
        count += 1
        report(where)
        if count == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    for owner, name in BOUNDARIES:
        real = getattr(owner, name)

        def make(real: Callable[..., Any], label: str) -> Callable[..., Any]:
            @wraps(real)
            def boundary(*args: Any, **kwargs: Any) -> Any:
                tick(f"before {label}")
                result = real(*args, **kwargs)
                tick(f"after {label}")
                return result

            return boundary

        setattr(owner, name, make(real, f"{getattr(owner, '__name__', owner)}.{name}"))


def _child(work: Callable[[], object], kill_at: int | None, pipe: int) -> NoReturn:
    code = 0
    try:
        pool.public_adapters_reset()  # pooled clients' sockets belong to the parent
        _arm(kill_at, lambda where: os.write(pipe, f"{where}\n".encode()))
        work()
    except BaseException:
        os.write(pipe, ("!error " + traceback.format_exc().replace("\n", " | ") + "\n").encode())
        code = 1
    os._exit(code)  # no atexit, no pytest teardown in the child


def run_in_child(
    work: Callable[[], object], *, kill_at: int | None = None, kill_after: float | None = None
) -> ChildResult:
    """Run `work` in a forked child; SIGKILL it at its `kill_at`-th boundary, or `kill_after` seconds after
    the fork. Returns once the child is gone."""
    connections.close_all()  # the child opens its own; a shared socket would be one session for both
    read_end, write_end = os.pipe()
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        _child(work, kill_at, write_end)
    os.close(write_end)
    if kill_after is not None:
        time.sleep(kill_after)
        with contextlib.suppress(ProcessLookupError):  # it finished first
            os.kill(pid, signal.SIGKILL)
    _pid, status = os.waitpid(pid, 0)
    seconds = time.perf_counter() - started
    with os.fdopen(read_end) as lines:
        passed = lines.read().splitlines()
    errors = [line for line in passed if line.startswith("!error ")]
    killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    return ChildResult(
        pid=pid,
        killed=killed,
        passed=[line for line in passed if not line.startswith("!error ")],
        seconds=seconds,
        error=errors[0] if errors else ("" if killed or os.WEXITSTATUS(status) == 0 else f"exit {status}"),
    )
