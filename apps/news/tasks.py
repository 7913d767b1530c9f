"""django-q2 entry points of the news app."""

from __future__ import annotations

from django.utils import timezone

from apps.news import services


def poll_news_sources() -> str:
    """Scheduled every minute: poll the enabled sources whose own interval has passed."""
    results = services.news_sources_poll(sources=services.news_sources_due(now=timezone.now()))
    return "; ".join(map(str, results)) or "no source due"
