from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.traders.alerts.receiver import Receiver, receiver_running


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiver_running() as running:
        yield running


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run what the transaction enqueued after commit (django-q2 is synchronous in tests)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)
