"""A real HTTP server on 127.0.0.1 that serves feeds as the tests script them: the snapshots in
../shared/data/rss, with an ETag (a 304 when it comes back), a slow answer, a 500, a truncated
feed and an HTML page; and the same kind of server standing in for X's recent search (x_stub.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import shared_data_path
from tests.news.x_stub import XStub, x_handler

SNAPSHOTS = ("coindesk.rss", "coingtelegraph-all.rss", "decrypt.rss", "theblock.rss")


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    etag: str = ""
    delay: float = 0.0
    content_type: str = "application/rss+xml; charset=utf-8"


@dataclass
class FeedServer:
    base_url: str
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def serve(self, path: str, route: Route) -> str:
        self.routes[path] = route
        return f"{self.base_url}{path}"


def _handler(server: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server.requests.append((self.path, dict(self.headers)))
            route = server.routes.get(self.path)
            if route is None:
                self.send_error(404)
                return
            time.sleep(route.delay)
            if route.etag and self.headers.get("If-None-Match") == route.etag:
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(route.status)
            self.send_header("Content-Type", route.content_type)
            self.send_header("Content-Length", str(len(route.body)))
            if route.etag:
                self.send_header("ETag", route.etag)
            self.end_headers()
            self.wfile.write(route.body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def local_http_server() -> Iterator[ThreadingHTTPServer]:
    """A threaded HTTP server on 127.0.0.1 and a free port; set its RequestHandlerClass before use."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    with local_http_server() as httpd:
        server = FeedServer(base_url=f"http://127.0.0.1:{httpd.server_address[1]}")
        httpd.RequestHandlerClass = _handler(server)
        yield server


def snapshot(name: str) -> bytes:
    return shared_data_path("rss", name).read_bytes()


@pytest.fixture
def x_api(settings) -> Iterator[XStub]:
    """The X recent-search stub on 127.0.0.1, the poller pointed at it; NEWS_X_ENABLED is each test's choice."""
    with local_http_server() as httpd:
        stub = XStub(base_url=f"http://127.0.0.1:{httpd.server_address[1]}")
        httpd.RequestHandlerClass = x_handler(stub)
        settings.NEWS_X_API_BASE_URL = stub.base_url
        yield stub
