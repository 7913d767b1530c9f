from __future__ import annotations

from collections.abc import Callable

import pytest
from django_q.models import Task

from apps.market.tasks import collect_market_data
from apps.signals import services


@pytest.fixture(autouse=True)
def fresh_worker_memory():
    """Each test starts as a freshly started worker process would: no evaluation in memory."""
    services.EVALUATIONS.clear()
    yield
    services.EVALUATIONS.clear()


@pytest.fixture
def replay_settings(settings):
    """Replay from the first stored candle, 100 candles per tick."""
    settings.REPLAY_START_BARS = 0
    settings.REPLAY_SPEED = 100
    return settings


@pytest.fixture
def tick(django_capture_on_commit_callbacks) -> Callable[..., None]:
    """One scheduled collection as the worker runs it: the task, then (after its commits) the
    evaluate_strategy tasks it enqueued, which run at once because tests run django-q2 in sync mode."""

    def run(times: int = 1) -> None:
        for _ in range(times):
            with django_capture_on_commit_callbacks(execute=True):
                collect_market_data()
        failed = list(Task.objects.filter(success=False).values_list("func", "result"))
        assert not failed, failed

    return run
