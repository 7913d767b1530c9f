"""/health/live and /health/ready (README "Metrics and health"): no login, no secrets, 503 naming what failed."""

from __future__ import annotations

import pytest
from django.db import OperationalError, connection


def test_live_answers_without_a_login(client) -> None:
    response = client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_ready_checks_the_database(client, settings) -> None:
    settings.REDIS_URL = None
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok"}}


@pytest.mark.django_db
def test_ready_checks_redis_when_configured(client, settings, redis_url) -> None:
    settings.REDIS_URL = redis_url
    assert client.get("/health/ready").json()["checks"] == {"database": "ok", "redis": "ok"}


@pytest.mark.django_db
def test_ready_is_503_naming_redis_when_redis_is_down_and_leaks_no_address(client, settings) -> None:
    settings.REDIS_URL = "redis://:hunter2-secret@127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("unreachable (")
    assert b"hunter2" not in response.content and b"127.0.0.1" not in response.content


@pytest.mark.django_db
def test_ready_is_503_naming_the_database_when_it_fails(client, settings, monkeypatch) -> None:
    settings.REDIS_URL = None

    def refuse(*args, **kwargs):
        raise OperationalError('connection to server at "db.internal" failed: password authentication failed')

    monkeypatch.setattr(connection, "cursor", refuse)
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "unreachable (OperationalError)"}
    assert b"db.internal" not in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/health/live", "/health/ready"])
def test_a_logged_in_user_without_a_role_gets_the_health_too(client, outsider, settings, path) -> None:
    settings.REDIS_URL = None
    client.force_login(outsider)
    assert client.get(path).status_code == 200
