"""The HTTP front: a ThreadingHTTPServer whose handler applies faults, then hands requests to the emulator."""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from apps.exchanges.emulator.faults import FaultKind
from apps.exchanges.emulator.wire import Request, Response

if TYPE_CHECKING:
    from apps.exchanges.emulator.emulator import ExchangeEmulator

logger = logging.getLogger("tradeops.emulator")


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emulator: ExchangeEmulator) -> None:
        self.emulator = emulator
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        self.in_flight = 0  # requests being read or processed now (ExchangeEmulator.wait_idle)
        super().__init__(address, EmulatorRequestHandler)

    def close_connections(self) -> None:
        # Keep-alive connections would otherwise outlive the server and hold their handler threads.
        with self.connections_lock:
            for conn in list(self.connections):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
            self.connections.clear()


class EmulatorRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "TradeOpsExchangeEmulator/1.0"
    server: EmulatorHTTPServer

    def setup(self) -> None:
        super().setup()
        # Without this, header and body segments meet the client's delayed ACK: ~40 ms per request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        with contextlib.suppress(OSError):  # the client (or a RESET fault) may have closed the socket already
            super().finish()

    def do_GET(self) -> None:
        with self.server.connections_lock:
            self.server.in_flight += 1
        try:
            self._dispatch()
        finally:
            with self.server.connections_lock:
                self.server.in_flight -= 1

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def _dispatch(self) -> None:
        emulator = self.server.emulator
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        request = Request(
            self.command, split.path, split.query, self.rfile.read(length) if length else b"", self.headers
        )
        if split.path.startswith("/_emulator"):
            self._send(emulator.control(request))
            return
        latency_ms, fault = emulator.faults.take(request.method, request.path)
        if latency_ms:
            time.sleep(latency_ms / 1000)
        for hook in list(emulator.request_hooks):
            hook(request)
        kind = fault.kind if fault else None
        if kind is FaultKind.RESET:
            emulator.record(request, 0, note="fault: connection reset")
            self._reset()
            return
        if kind is FaultKind.HTTP_ERROR:
            self._send(emulator.record_response(request, emulator.dialect.server_error(fault, accepted=False)))
            return
        if kind is FaultKind.RATE_LIMIT:
            self._send(emulator.record_response(request, emulator.dialect.rate_limited(fault)))
            return
        response = emulator.handle(request)
        if kind is FaultKind.DROP_AFTER_ACCEPT:
            emulator.record(request, 0, note="fault: processed, response dropped")
            self.close_connection = True  # return without writing: the client sees the connection close
            return
        if kind is FaultKind.ERROR_AFTER_ACCEPT:
            response = emulator.record_response(request, emulator.dialect.server_error(fault, accepted=True))
        self._send(response)

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        self.send_header(
            "Content-Type", response.content_type + ("; charset=utf-8" if "json" in response.content_type else "")
        )
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self._headers_buffer.append(b"\r\n")
        self._headers_buffer.append(response.body)
        self.flush_headers()  # headers and body in one write

    def _reset(self) -> None:
        # SO_LINGER 0 then close: the kernel sends RST instead of FIN, like a proxy or NAT dropping the flow.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        logger.debug("%s %s", self.address_string(), format % args)
