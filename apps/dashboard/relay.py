"""Embedded mode's event relay: the web process reads new rows of the Event table and sends them to the
in-memory channel layer's EVENTS_GROUP, since that layer cannot carry events from the worker process.

With REDIS_URL the publishing process sends each event itself (apps.core.events.publish), so the relay
never runs there: it would send every event twice.

Ids are handed out when a row is inserted, not when it commits. On PostgreSQL two transactions can
commit out of order (id 12 visible before id 11), so an id missing below the highest one read is
re-checked for GAP_SECONDS before the relay stops waiting for it (a rolled-back insert never appears).
SQLite takes the write lock at BEGIN, so its ids commit in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import close_old_connections

from apps.core.events import CHANNEL_MESSAGE_TYPE, EVENTS_GROUP, event_message, events_after, latest_event_id

logger = logging.getLogger(__name__)

GAP_SECONDS = 5.0  # far longer than a publishing transaction stays open between insert and commit
BATCH = 500
MAX_GAP = 1000  # more missing ids at once are not in-flight transactions (a restored database, a reset sequence)
CONNECTION_CHECK_SECONDS = 1.0

T = TypeVar("T")
_last_connection_check = 0.0
_task: asyncio.Task | None = None


def _checked(function: Callable[..., T], *args: Any) -> T:
    # database_sync_to_async closes stale connections before and after every call; on a socket that
    # receives many events a second that hop is most of the cost, so it is done once a second here.
    global _last_connection_check
    now = time.monotonic()
    if now - _last_connection_check >= CONNECTION_CHECK_SECONDS:
        close_old_connections()
        _last_connection_check = now
    return function(*args)


async def run_orm(function: Callable[..., T], *args: Any) -> T:
    """Run a short ORM read in the one thread that holds this process's connection for live events."""
    return await sync_to_async(_checked, thread_sensitive=True)(function, *args)


class Relay:
    """What the relay has sent: the highest id read, and ids below it that may still commit."""

    def __init__(self, *, last_id: int) -> None:
        self.last_id = last_id
        self.gaps: dict[int, float] = {}  # missing id -> when the relay stops waiting for it

    def poll(self, *, now: float) -> list[dict[str, Any]]:
        """New events (and late commits filling gaps), oldest first, as the browser receives them."""
        self.gaps = {pk: until for pk, until in self.gaps.items() if until > now}
        events = events_after(self.last_id, limit=BATCH, also_ids=self.gaps)
        for event in events:
            if event.pk in self.gaps:
                del self.gaps[event.pk]
                continue
            if event.pk - self.last_id <= MAX_GAP:
                self.gaps.update((pk, now + GAP_SECONDS) for pk in range(self.last_id + 1, event.pk))
            self.last_id = event.pk
        return [event_message(event) for event in events]


async def _run(interval: float) -> None:
    relay = Relay(last_id=await run_orm(latest_event_id))
    layer = get_channel_layer()
    while True:
        try:
            for message in await run_orm(lambda: relay.poll(now=time.monotonic())):
                await layer.group_send(EVENTS_GROUP, {"type": CHANNEL_MESSAGE_TYPE, "event": message})
        except Exception:  # a locked or restarting database: try again on the next tick
            logger.exception("The event relay could not read or send new events; retrying.")
        await asyncio.sleep(interval)


def ensure_started() -> None:
    """Start the relay in the running event loop (the first websocket does), unless it runs or Redis carries events."""
    global _task
    if settings.REDIS_URL:
        return
    loop = asyncio.get_running_loop()
    if _task is not None and not _task.done() and _task.get_loop() is loop:
        return
    _task = loop.create_task(_run(settings.EVENT_RELAY_INTERVAL_MS / 1000), name="tradeops-event-relay")


async def stop() -> None:
    """Stop the relay (tests, whose event loops end with each test)."""
    global _task
    task, _task = _task, None
    if task is not None and task.get_loop() is asyncio.get_running_loop():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
