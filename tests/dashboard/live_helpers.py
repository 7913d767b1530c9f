"""Websocket helpers for the live-event tests: a communicator logged in as a user, and frame parsing."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from apps.dashboard import relay
from tradeops.asgi import application

ORIGIN = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
MARKER = re.compile(r'<div id="live-event" hx-swap-oob="true" hidden data-event="([^"]*)"></div>')


def logged_in(user: Any) -> list[tuple[bytes, bytes]]:
    """The headers of a browser logged in as `user` (made before the async part: the login writes)."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    return [(b"cookie", f"{cookie.key}={cookie.value}".encode())]


def socket(headers: list[tuple[bytes, bytes]] | None = None, *, after: int | None = None) -> WebsocketCommunicator:
    query = "" if after is None else f"?after={after}"
    return WebsocketCommunicator(application, f"/ws/live/{query}", headers=ORIGIN + (headers or []))


def frame_event(frame: str) -> dict[str, Any]:
    """The event a frame carries (its marker element's JSON)."""
    found = MARKER.match(frame)
    assert found, f"no event marker at the start of {frame!r}"
    return json.loads(html.unescape(found.group(1)))


async def received_ids(communicator: WebsocketCommunicator, *, timeout: float = 1.0) -> list[int]:
    """The ids of the frames that arrive until none has come for `timeout` seconds."""
    ids = []
    while not await communicator.receive_nothing(timeout=timeout):
        ids.append(frame_event(await communicator.receive_from())["id"])
    return ids


def run(test: Callable[[], Awaitable[None]]) -> None:
    """Run an async test body in its own event loop, stopping the embedded relay it may have started."""

    async def body() -> None:
        try:
            await test()
        finally:
            await relay.stop()

    async_to_sync(body)()
