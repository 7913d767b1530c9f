"""Changes a service filed for approval instead of applying (four-eyes, apps.traders.services.four_eyes).

A service that holds part of a change back returns the row it saved with the filed requests attached,
so that a page can say "waiting for a second admin" and the API can answer 202 with the request ids.
Core is below every domain app, so the convention lives here: the CRUD router reads it.
"""

from __future__ import annotations

from typing import Any

PENDING_ATTRIBUTE = "pending_changes"


def pending_set(row: Any, requests: list[Any]) -> Any:
    """Attach `requests` (filed instead of applying) to the row a service returns; returns the row."""
    setattr(row, PENDING_ATTRIBUTE, [*pending_of(row), *requests])
    return row


def pending_of(row: Any) -> list[Any]:
    """The requests a service filed for the row it returned (empty when everything was applied)."""
    return list(getattr(row, PENDING_ATTRIBUTE, []))
