"""The `/ws/live/` websocket: every change the desk should see, pushed as it happens.

A logged-in user's socket joins EVENTS_GROUP. Each frame is HTML for htmx's ws extension: a hidden
marker element carrying the event's JSON (static/js/live.js reads it and dispatches `tradeops:event`)
followed by apps.dashboard.live.event_html's out-of-band fragments for the user's role.

`?after=<id>` replays the events the browser missed from the Event table, or asks it to reload the page
when they are no longer all there (its last event was pruned, or more than EVENT_REPLAY_LIMIT are missing).
The socket joins the group before it reads the table, so an event committed meanwhile arrives both
ways; ids already sent are skipped, so nothing is sent twice and nothing falls between the two.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
from collections import OrderedDict, deque
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from apps.core.events import CHANNEL_MESSAGE_TYPE, EVENTS_GROUP, event_kept, event_message, events_after
from apps.core.prometheus import WEBSOCKET_CLIENTS
from apps.core.roles import user_role
from apps.dashboard import relay
from apps.dashboard.live import event_html

logger = logging.getLogger(__name__)

CLOSE_ANONYMOUS = 4401  # not logged in: live.js stops reconnecting
CLOSE_NO_ROLE = 4403
SENT_IDS_KEPT = 2000  # enough to cover a replay and the live events that overlap it
FRAMES_KEPT = 256


def marker(event: dict[str, Any]) -> str:
    """The hidden element that carries the event to live.js (it swaps into base.html's #live-event)."""
    payload = html.escape(json.dumps(event, separators=(",", ":")), quote=True)
    return f'<div id="live-event" hx-swap-oob="true" hidden data-event="{payload}"></div>'


REFRESH_FRAME = '<div id="live-event" hx-swap-oob="true" hidden data-refresh="true"></div>'


class FrameCache:
    """One render per (event, role), shared by every socket of that role: the first socket to need a
    frame renders it and the others await the same future."""

    def __init__(self, *, size: int) -> None:
        self.size = size
        self._frames: OrderedDict[tuple[int, str, str], asyncio.Future[str]] = OrderedDict()

    async def frame(self, event: dict[str, Any], *, role: str) -> str:
        key = (event["id"], event["ts"], role)
        loop = asyncio.get_running_loop()
        future = self._frames.get(key)
        if future is None or future.get_loop() is not loop:
            future = loop.create_future()
            self._frames[key] = future
            while len(self._frames) > self.size:
                self._frames.popitem(last=False)
            future.set_result(marker(event) + await _fragments(event, role=role))
        return await future


async def _fragments(event: dict[str, Any], *, role: str) -> str:
    try:
        return await relay.run_orm(lambda: event_html(event, role=role))
    except Exception:  # the page still gets the event (tradeops:event); only the fragments are missing
        logger.exception(
            "event_html failed for event %s (role %s); sending the event without fragments.", event["id"], role
        )
        return ""


FRAMES = FrameCache(size=FRAMES_KEPT)


def _after(scope: dict[str, Any]) -> int | None:
    values = parse_qs(scope.get("query_string", b"").decode()).get("after")
    try:
        return max(0, int(values[0])) if values else None
    except ValueError:
        return None


def _missed(after: int, limit: int) -> tuple[bool, list[dict[str, Any]]]:
    return event_kept(after), [event_message(event) for event in events_after(after, limit=limit + 1)]


class LiveConsumer(AsyncWebsocketConsumer):
    joined = False

    async def connect(self) -> None:
        user = self.scope.get("user")
        # Accepted first so the browser reads the close code (a refused handshake only shows 1006).
        await self.accept()
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_ANONYMOUS)
            return
        role = await database_sync_to_async(user_role)(user)
        if role is None:
            await self.close(code=CLOSE_NO_ROLE)
            return
        self.role = str(role)
        self.sent: deque[int] = deque(maxlen=SENT_IDS_KEPT)
        self.sent_ids: set[int] = set()
        await self.channel_layer.group_add(EVENTS_GROUP, self.channel_name)
        self.joined = True
        WEBSOCKET_CLIENTS.inc()
        relay.ensure_started()
        after = _after(self.scope)
        if after is not None:
            await self._replay(after)

    async def disconnect(self, code: int) -> None:
        if self.joined:
            WEBSOCKET_CLIENTS.dec()
            await self.channel_layer.group_discard(EVENTS_GROUP, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """The browser only listens; anything it sends is ignored."""

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Event messages skip channels' per-message `close_old_connections` thread hop: they touch the
        database only through relay.run_orm (which checks connections itself, once a second), and with
        200 sockets that hop per socket per event was daphne's main cost (bench/bench_events.py)."""
        if message["type"] == CHANNEL_MESSAGE_TYPE:
            await self.event_message(message)
        else:
            await super().dispatch(message)

    async def event_message(self, message: dict[str, Any]) -> None:
        await self._send_event(message["event"])

    async def _replay(self, after: int) -> None:
        limit = settings.EVENT_REPLAY_LIMIT
        kept, missed = await relay.run_orm(_missed, after, limit)
        if not kept or len(missed) > limit:
            await self.send(text_data=REFRESH_FRAME)
            return
        for event in missed:
            await self._send_event(event)

    async def _send_event(self, event: dict[str, Any]) -> None:
        if event["id"] in self.sent_ids:
            return
        await self.send(text_data=await FRAMES.frame(event, role=self.role))
        if len(self.sent) == self.sent.maxlen:
            self.sent_ids.discard(self.sent[0])
        self.sent.append(event["id"])
        self.sent_ids.add(event["id"])
