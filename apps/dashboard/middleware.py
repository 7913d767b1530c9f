from __future__ import annotations

from collections.abc import Callable

from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse

from apps.core.events import latest_event_id


def live_events_middleware(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable:
    """Note the newest event id before the view reads anything: the page's socket asks for the events
    after it (templates/base.html), so a change committed while the page renders is replayed, not lost.

    Only full pages served through daphne (ASGI, which carries the websocket) open a socket; htmx
    partials and pytest's WSGI live server do not."""

    def middleware(request: HttpRequest) -> HttpResponse:
        full_page = request.method == "GET" and "HX-Request" not in request.headers
        if isinstance(request, ASGIRequest) and full_page and request.user.is_authenticated:
            request.live_after = latest_event_id()  # type: ignore[attr-defined]
        return get_response(request)

    return middleware
