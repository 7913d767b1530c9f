"""django-q2 entry points of the backtests app: they take ids, and the services reload what they need."""

from __future__ import annotations

from apps.backtests import selectors, services
from apps.core.errors import ServiceValidationError


def backtest_run(run_id: int) -> str:
    """Enqueued by services.backtest_start once the queued run is committed."""
    run = selectors.backtest_run_get(pk=run_id)
    if run is None:
        return f"backtest run #{run_id} no longer exists"
    try:
        outcome = services.backtest_run_execute(run=run)
    except ServiceValidationError as exc:
        # Bad data, not a bug: the reason is on the run's page; the task itself did its job.
        return f"backtest run #{run_id} failed: {exc.message}"
    if outcome is None:
        return f"backtest run #{run_id} was not queued any more"
    return f"backtest run #{run_id} done in {outcome.run.duration_seconds:.2f} s"
