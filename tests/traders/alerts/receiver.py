"""A webhook receiver on 127.0.0.1 for the alert tests: a threaded http.server that keeps every POST.

The path picks the answer: /ok/... answers 200, /fail/... answers 500, /slow/... waits SLOW_SECONDS
before answering 200 (longer than the delivery timeout the tests set)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SLOW_SECONDS = 3.0


@dataclass
class Receiver:
    port: int
    posts: list[tuple[str, dict]] = field(default_factory=list)

    def url(self, mode: str, token: str = "tok3n-s3cret") -> str:
        """An apprise json:// URL for the receiver; the token stands for a webhook's secret path."""
        return f"json://127.0.0.1:{self.port}/{mode}/{token}"

    def messages(self, mode: str | None = None) -> list[dict]:
        return [body for path, body in self.posts if mode is None or path.startswith(f"/{mode}/")]


@contextmanager
def receiver_running() -> Iterator[Receiver]:
    receiver = Receiver(port=0)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            receiver.posts.append((self.path, json.loads(body or b"{}")))
            if self.path.startswith("/slow/"):
                time.sleep(SLOW_SECONDS)
            self.send_response(500 if self.path.startswith("/fail/") else 200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
