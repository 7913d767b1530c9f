"""Which pages open the live socket: full pages served through ASGI (daphne) to a user with a role, starting
after the newest event id at the time the request came in."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient, Client

from apps.core.events import EventType, publish
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def asgi_page(user, **headers: str) -> str:
    async def get() -> str:
        client = AsyncClient()
        await client.aforce_login(user)
        return (await client.get("/alerts/", headers=headers)).content.decode()

    return async_to_sync(get)()


def test_a_page_through_asgi_opens_the_socket_after_the_newest_event() -> None:
    publish(EventType.KILL_SWITCH, {"engaged": True, "reason": "drill"})
    newest = publish(EventType.KILL_SWITCH, {"engaged": False, "reason": "done"})
    html = asgi_page(UserFactory(role="viewer"))
    assert f'ws-connect="/ws/live/?after={newest.pk}"' in html
    assert 'id="live-status"' in html and "js/live.js" in html


def test_no_socket_for_wsgi_pages_partials_or_users_without_a_role() -> None:
    client = Client()
    client.force_login(UserFactory(role="viewer"))
    assert "ws-connect" not in client.get("/alerts/").content.decode()  # pytest's live server is WSGI
    assert "ws-connect" not in asgi_page(UserFactory(role="viewer"), **{"HX-Request": "true"})
    assert "ws-connect" not in asgi_page(UserFactory(role=None))
