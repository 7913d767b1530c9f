"""django-q2 entry points of the core app."""

from __future__ import annotations

from apps.core.events import events_prune


def prune_events() -> int:
    """Hourly (apps.signals.services.SCHEDULES): drop live events past EVENT_RETENTION_HOURS."""
    return events_prune()
