"""Events cross from the publishing process to the browser's socket: the embedded relay (no Redis) and
channels-redis (REDIS_URL)."""

from __future__ import annotations

import time

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings

from apps.core.events import EventType, event_message, publish
from apps.core.models import Event
from apps.dashboard import relay
from apps.dashboard.relay import GAP_SECONDS, Relay
from tests.dashboard.live_helpers import frame_event, logged_in, received_ids, run, socket
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def fill(number: int) -> Event:
    return publish(EventType.FILL, {"plan_id": number, "leg": "entry", "filled": "0.01", "price": "20000"})


@pytest.fixture
def embedded() -> None:
    if settings.REDIS_URL:
        pytest.skip("the relay is the embedded mode's (no REDIS_URL); with Redis the publisher sends events itself")


def test_relay_delivers_a_committed_event_to_open_sockets(embedded: None) -> None:
    operator = logged_in(UserFactory(role="operator"))

    async def body() -> None:
        communicator = socket(operator)
        await communicator.connect()
        await communicator.receive_nothing(timeout=0.3)  # the relay has read where the table stands
        started = time.monotonic()
        event = await sync_to_async(fill)(1)
        frame = await communicator.receive_from(timeout=2)
        assert frame_event(frame) == event_message(event)
        assert time.monotonic() - started < 1.0  # a poll every EVENT_RELAY_INTERVAL_MS (250 ms)
        assert await received_ids(communicator, timeout=0.6) == []  # sent once
        await communicator.disconnect()

    run(body)


def test_relay_waits_for_an_id_committed_out_of_order_then_gives_up() -> None:
    """PostgreSQL hands out ids at insert: id 2 can commit after id 3. The relay sends 3, then 2 when it
    appears; an id that never commits (a rollback) is forgotten after GAP_SECONDS."""
    first, late, third = fill(1), fill(2), fill(3)
    late_row = {"pk": late.pk, "type": late.type, "ts": late.ts, "data": late.data}
    late_id = late_row["pk"]
    late.delete()  # not committed yet
    feed = Relay(last_id=first.pk - 1)

    assert [event["id"] for event in feed.poll(now=0)] == [first.pk, third.pk]
    assert feed.poll(now=1) == []
    Event.objects.create(**late_row)  # the slow transaction commits
    assert [event["id"] for event in feed.poll(now=2)] == [late_id]
    assert feed.poll(now=3) == [] and feed.gaps == {}

    rolled_back = fill(4)
    rolled_back_id = rolled_back.pk
    rolled_back.delete()
    after_it = fill(5)
    assert [event["id"] for event in feed.poll(now=10)] == [after_it.pk]
    assert set(feed.gaps) == {rolled_back_id}
    assert feed.poll(now=10 + GAP_SECONDS + 1) == [] and feed.gaps == {}


@pytest.mark.redis
def test_with_redis_the_publisher_sends_and_the_relay_stays_off(redis_url: str) -> None:
    operator = logged_in(UserFactory(role="operator"))

    async def body() -> None:
        communicator = socket(operator)
        await communicator.connect()
        assert relay._task is None
        event = await sync_to_async(fill)(1)
        assert frame_event(await communicator.receive_from(timeout=2)) == event_message(event)
        assert await received_ids(communicator, timeout=0.6) == []
        await communicator.disconnect()

    run(body)
