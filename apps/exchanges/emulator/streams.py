"""The websocket front: market streams that ccxt.pro clients subscribe to, on their own 127.0.0.1 port.

A client sends ``{"method": "SUBSCRIBE", "params": [stream, ...], "id": n}`` and gets ``{"result": null,
"id": n}`` and the streams' current state; every ``emulator.advance()`` then pushes what changed (the
dialect's ``stream_events``), and every ``update_seconds`` the current state is sent again, as Binance sends
a forming kline every 250 ms (so a client that was busy when a push came sees it again).
``drop_connections()`` closes every socket, as an exchange or a proxy does. An aiohttp server on its own
event loop thread; only dialects with ``stream_events`` (Binance USDⓈ-M) serve it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

if TYPE_CHECKING:
    from apps.exchanges.emulator.emulator import ExchangeEmulator

logger = logging.getLogger("tradeops.emulator")
SEND_TIMEOUT_SECONDS = 5
UPDATE_SECONDS = 0.1


@dataclass(eq=False)
class _Subscriber:
    socket: web.WebSocketResponse
    streams: set[str] = field(default_factory=set)


class StreamServer:
    def __init__(self, emulator: ExchangeEmulator, *, host: str, update_seconds: float = UPDATE_SECONDS) -> None:
        if not hasattr(emulator.dialect, "stream_events"):
            raise ValueError(f"the {emulator.exchange} emulator serves no websocket streams")
        self.emulator = emulator
        self.host = host
        self.port = 0
        self.update_seconds = update_seconds
        self._updates: asyncio.Task[None] | None = None
        self._subscribers: set[_Subscriber] = set()
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="exchange-emulator-ws", daemon=True)

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    def start(self) -> StreamServer:
        self._thread.start()
        self._call(self._start())
        logger.info("%s emulator streaming on %s", self.emulator.exchange, self.url)
        return self

    def stop(self) -> None:
        self._call(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def publish(self) -> None:
        """Push every subscribed stream's events after the clock moved."""
        self._call(self._publish(advanced=True))

    def drop_connections(self) -> None:
        self._call(self._close_all())

    def _call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(SEND_TIMEOUT_SECONDS)

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/{path:.*}", self._serve)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self._updates = asyncio.create_task(self._update_forever())

    async def _update_forever(self) -> None:
        while True:
            await asyncio.sleep(self.update_seconds)
            await self._publish(advanced=False)

    async def _stop(self) -> None:
        if self._updates is not None:
            self._updates.cancel()
        await self._close_all()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _close_all(self) -> None:
        for subscriber in list(self._subscribers):
            await subscriber.socket.close()
        self._subscribers.clear()

    async def _publish(self, *, advanced: bool) -> None:
        for subscriber in list(self._subscribers):
            for stream in sorted(subscriber.streams):
                await self._send(subscriber, self._events(stream, advanced=advanced))

    def _events(self, stream: str, *, advanced: bool) -> list[dict[str, Any]]:
        with self.emulator.lock:
            return self.emulator.dialect.stream_events(stream, advanced=advanced)  # type: ignore[attr-defined]

    async def _send(self, subscriber: _Subscriber, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            if subscriber.socket.closed:
                return
            await subscriber.socket.send_str(json.dumps(message))

    async def _serve(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        subscriber = _Subscriber(socket)
        self._subscribers.add(subscriber)
        try:
            async for message in socket:
                if message.type == WSMsgType.TEXT:
                    await self._command(subscriber, json.loads(message.data))
        finally:
            self._subscribers.discard(subscriber)
        return socket

    async def _command(self, subscriber: _Subscriber, command: dict[str, Any]) -> None:
        streams = [str(name) for name in command.get("params", [])]
        if command.get("method") == "UNSUBSCRIBE":
            subscriber.streams.difference_update(streams)
        elif command.get("method") == "SUBSCRIBE":
            subscriber.streams.update(streams)
        await subscriber.socket.send_str(json.dumps({"result": None, "id": command.get("id")}))
        if command.get("method") == "SUBSCRIBE":
            for stream in streams:
                await self._send(subscriber, self._events(stream, advanced=False))
