"""Making keys and calling the API with them, for the API key, rate limit and leak tests."""

from __future__ import annotations

from typing import Any

from django.test import Client

from apps.core.api_keys import api_key_create


def new_key(user: Any, scope: str = "read", name: str = "script") -> str:
    return api_key_create(user=user, name=name, scope=scope, expires_in_days=30).key


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def api_client() -> Client:
    """A client like a script's: no session, and CSRF enforced (a key needs none)."""
    return Client(enforce_csrf_checks=True)
