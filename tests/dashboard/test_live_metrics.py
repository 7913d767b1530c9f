"""The websocket-clients gauge (apps.core.prometheus.WEBSOCKET_CLIENTS, README "Metrics and health"): up by
one per live socket that joins, down when it closes; a refused socket never counts."""

from __future__ import annotations

import pytest

from apps.core.prometheus import REGISTRY
from tests.dashboard.live_helpers import logged_in, run, socket
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def clients() -> float:
    return REGISTRY.get_sample_value("tradeops_websocket_clients") or 0


def test_open_sockets_are_counted_and_closed_ones_are_not() -> None:
    viewer = logged_in(UserFactory(role="viewer"))
    start = clients()

    async def body() -> None:
        first, second = socket(viewer), socket(viewer)
        assert (await first.connect())[0] and (await second.connect())[0]
        # The consumer accepts first, then checks the role and joins: let it finish.
        assert await first.receive_nothing(timeout=0.5) and await second.receive_nothing(timeout=0.5)
        assert clients() == start + 2
        await first.disconnect()
        assert clients() == start + 1
        await second.disconnect()
        assert clients() == start

    run(body)


def test_a_refused_socket_is_never_counted() -> None:
    outsider = logged_in(UserFactory(role=None))
    start = clients()

    async def body() -> None:
        communicator = socket(outsider)
        await communicator.connect()
        assert await communicator.receive_output() == {"type": "websocket.close", "code": 4403}
        assert clients() == start
        await communicator.disconnect()
        assert clients() == start

    run(body)
