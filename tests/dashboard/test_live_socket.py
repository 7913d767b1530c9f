"""The `/ws/live/` consumer: who may connect, replay after a reconnect, the refresh when too much was
missed, no duplicates at the replay/live boundary, and one fragment render per (event, role)."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer

from apps.core.events import CHANNEL_MESSAGE_TYPE, EVENTS_GROUP, EventType, event_message, publish
from apps.core.models import Event
from apps.dashboard import consumers
from tests.dashboard.live_helpers import frame_event, logged_in, received_ids, run, socket
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def plan_event(number: int) -> Event:
    return publish(EventType.PLAN, {"plan_id": number, "from": "approved", "to": "submitted"})


def test_anonymous_socket_is_closed_with_4401() -> None:
    async def body() -> None:
        communicator = socket()
        connected, _ = await communicator.connect()
        assert connected
        assert await communicator.receive_output() == {"type": "websocket.close", "code": 4401}

    run(body)


def test_user_without_role_is_closed_with_4403() -> None:
    outsider = logged_in(UserFactory(role=None))

    async def body() -> None:
        communicator = socket(outsider)
        await communicator.connect()
        assert await communicator.receive_output() == {"type": "websocket.close", "code": 4403}

    run(body)


def test_reconnect_replays_the_missed_events_in_order() -> None:
    operator = logged_in(UserFactory(role="operator"))
    seen, *missed = [plan_event(number) for number in range(3)]

    async def body() -> None:
        communicator = socket(operator, after=seen.pk)
        await communicator.connect()
        frames = [await communicator.receive_from() for _ in missed]
        assert [frame_event(frame) for frame in frames] == [event_message(event) for event in missed]
        assert await communicator.receive_nothing(timeout=0.5)
        await communicator.disconnect()

    run(body)


def test_a_gap_in_ids_is_not_taken_for_pruned_events() -> None:
    """PostgreSQL skips sequence values on rollback, and a test database's flush leaves ids counting on:
    a browser whose last event is still kept replays what follows the gap instead of reloading."""
    operator = logged_in(UserFactory(role="operator"))
    seen, rolled_back, after_gap = [plan_event(number) for number in range(3)]
    rolled_back.delete()

    async def body() -> None:
        communicator = socket(operator, after=seen.pk)
        await communicator.connect()
        assert frame_event(await communicator.receive_from()) == event_message(after_gap)
        assert await communicator.receive_nothing(timeout=0.5)
        await communicator.disconnect()

    run(body)


def test_a_page_rendered_before_any_event_replays_them_all() -> None:
    operator = logged_in(UserFactory(role="operator"))
    Event.objects.all().delete()
    events = [plan_event(number) for number in range(2)]

    async def body() -> None:
        communicator = socket(operator, after=0)
        await communicator.connect()
        frames = [await communicator.receive_from() for _ in events]
        assert [frame_event(frame) for frame in frames] == [event_message(event) for event in events]
        await communicator.disconnect()

    run(body)


def test_reconnect_after_pruned_events_asks_for_a_refresh() -> None:
    operator = logged_in(UserFactory(role="operator"))
    events = [plan_event(number) for number in range(3)]
    Event.objects.filter(pk=events[1].pk).delete()  # pruned: the browser that saw only events[0] missed it

    async def body() -> None:
        communicator = socket(operator, after=events[0].pk)
        await communicator.connect()
        assert await communicator.receive_from() == consumers.REFRESH_FRAME
        await communicator.disconnect()

    Event.objects.filter(pk=events[0].pk).delete()
    run(body)


def test_more_missed_events_than_the_replay_limit_asks_for_a_refresh(settings: Any) -> None:
    settings.EVENT_REPLAY_LIMIT = 2
    operator = logged_in(UserFactory(role="operator"))
    seen = plan_event(0)
    for number in range(1, 4):
        plan_event(number)

    async def body() -> None:
        communicator = socket(operator, after=seen.pk)
        await communicator.connect()
        assert await communicator.receive_from() == consumers.REFRESH_FRAME
        assert await communicator.receive_nothing(timeout=0.3)
        await communicator.disconnect()

    run(body)


def test_missed_events_up_to_the_limit_are_replayed(settings: Any) -> None:
    settings.EVENT_REPLAY_LIMIT = 2
    operator = logged_in(UserFactory(role="operator"))
    seen = plan_event(0)
    missed = [plan_event(number) for number in (1, 2)]

    async def body() -> None:
        communicator = socket(operator, after=seen.pk)
        await communicator.connect()
        assert await received_ids(communicator, timeout=0.5) == [event.pk for event in missed]
        await communicator.disconnect()

    run(body)


def test_events_arriving_during_the_replay_are_sent_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """While the socket reads the table, the group delivers one event the replay also read (committed just
    before) and one it could not (committed just after): the browser gets each exactly once, in order."""
    operator = logged_in(UserFactory(role="operator"))
    seen, replayed = plan_event(0), plan_event(1)
    read_table = consumers._missed
    late: list[Event] = []

    def missed_while_events_arrive(after: int, limit: int) -> Any:
        result = read_table(after, limit)
        late.append(plan_event(2))
        send = async_to_sync(get_channel_layer().group_send)
        for event in (replayed, late[0]):
            send(EVENTS_GROUP, {"type": CHANNEL_MESSAGE_TYPE, "event": event_message(event)})
        return result

    monkeypatch.setattr(consumers, "_missed", missed_while_events_arrive)

    async def body() -> None:
        communicator = socket(operator, after=seen.pk)
        await communicator.connect()
        assert await received_ids(communicator) == [replayed.pk, late[0].pk]
        await communicator.disconnect()

    run(body)


def test_fragments_render_once_per_event_and_role(monkeypatch: pytest.MonkeyPatch) -> None:
    renders: list[tuple[int, str]] = []

    def event_html(event: dict[str, Any], *, role: str) -> str:
        renders.append((event["id"], role))
        return f'<div id="panel" hx-swap-oob="true">{role}</div>'

    monkeypatch.setattr(consumers, "event_html", event_html)
    users = [logged_in(UserFactory(role=role)) for role in ("operator", "operator", "viewer")]

    async def body() -> None:
        sockets = [socket(user) for user in users]
        for communicator in sockets:
            await communicator.connect()
        event = await sync_to_async(plan_event)(7)
        frames = [await communicator.receive_from(timeout=3) for communicator in sockets]
        for communicator in sockets:
            await communicator.disconnect()
        assert [frame_event(frame)["id"] for frame in frames] == [event.pk] * 3
        assert [frame.endswith(">operator</div>") for frame in frames] == [True, True, False]
        assert frames[2].endswith(">viewer</div>")
        assert sorted(renders) == [(event.pk, "operator"), (event.pk, "viewer")]

    run(body)


def test_a_failing_fragment_render_still_delivers_the_event(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(event: dict[str, Any], *, role: str) -> str:
        raise RuntimeError("panel bug")

    monkeypatch.setattr(consumers, "event_html", broken)
    operator = logged_in(UserFactory(role="operator"))
    seen, missed = plan_event(0), plan_event(1)

    async def body() -> None:
        communicator = socket(operator, after=seen.pk)
        await communicator.connect()
        frame = await communicator.receive_from()
        assert frame_event(frame)["id"] == missed.pk
        assert frame.count("<div") == 1  # the marker alone
        await communicator.disconnect()

    run(body)


def test_event_messages_skip_the_per_message_connection_check(monkeypatch: pytest.MonkeyPatch) -> None:
    # channels runs close_old_connections in a thread before every handler; at 200 sockets that hop per
    # socket per event was most of daphne's CPU (bench/bench_events.py). Event frames must not pay it.
    import channels.consumer

    hops: list[None] = []

    async def counted() -> None:
        hops.append(None)

    monkeypatch.setattr(channels.consumer, "aclose_old_connections", counted)
    viewer = logged_in(UserFactory(role="viewer"))

    async def body() -> None:
        communicator = socket(viewer)
        await communicator.connect()
        assert await communicator.receive_nothing(timeout=0.5)  # the relay has read where the table stands
        before = len(hops)
        events = [await sync_to_async(plan_event)(number) for number in range(3)]
        assert await received_ids(communicator) == [event.pk for event in events]
        assert len(hops) == before
        await communicator.disconnect()

    run(body)
