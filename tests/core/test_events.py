"""Live events in the table: the hourly prune keeps EVENT_RETENTION_HOURS and always the newest event."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.core.events import EventType, events_prune, publish
from apps.core.models import Event
from apps.core.tasks import prune_events

pytestmark = pytest.mark.django_db


def fill(number: int) -> Event:
    return publish(EventType.FILL, {"plan_id": number, "leg": "entry", "filled": "0.01", "price": "20000"})


def test_prune_deletes_events_past_retention_but_keeps_the_newest(settings: Any) -> None:
    settings.EVENT_RETENTION_HOURS = 24
    now = timezone.now()
    old, kept = fill(1), fill(2)
    Event.objects.filter(pk=old.pk).update(ts=now - timedelta(hours=25))
    Event.objects.filter(pk=kept.pk).update(ts=now - timedelta(hours=23))
    assert events_prune(now=now) == 1
    assert list(Event.objects.values_list("pk", flat=True)) == [kept.pk]
    assert events_prune(now=now + timedelta(hours=48)) == 0  # the newest stays: reconnects know nothing was lost


def test_the_scheduled_task_prunes_with_the_current_time() -> None:
    old = fill(1)
    Event.objects.filter(pk=old.pk).update(ts=timezone.now() - timedelta(days=30))
    fill(2)
    assert prune_events() == 1
