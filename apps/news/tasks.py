"""django-q2 entry points of the news app."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from apps.news import services
from apps.news.analyzers import sentiment_analyzer


def poll_news_sources() -> str:
    """Scheduled every minute: poll the enabled sources whose own interval has passed, then score
    up to SENTIMENT_MAX_PER_POLL unscored items (a backlog waits for the next polls)."""
    results = services.news_sources_poll(sources=services.news_sources_due(now=timezone.now()))
    scored = services.news_items_score(
        analyzer=sentiment_analyzer(),
        batch_size=settings.SENTIMENT_BATCH_SIZE,
        max_items=settings.SENTIMENT_MAX_PER_POLL,
    )
    polled = "; ".join(map(str, results)) or "no source due"
    return f"{polled}; {scored} item(s) scored"
