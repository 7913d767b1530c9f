"""Scores written as an analyzer would have stored them, for the tests of what reads them."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from apps.news.models import NewsItem, NewsSentiment

LABEL_OF_SIGN = {-1: NewsSentiment.Label.NEGATIVE, 0: NewsSentiment.Label.NEUTRAL, 1: NewsSentiment.Label.POSITIVE}


def scored(
    item: NewsItem, score: float, *, analyzer: str = "lexicon", version: str = "v1", at: datetime | None = None
) -> NewsSentiment:
    """The item's score by `analyzer`, labelled by its sign (0 is neutral)."""
    sign = (score > 0) - (score < 0)
    return NewsSentiment.objects.create(
        item=item,
        analyzer=analyzer,
        version=version,
        label=LABEL_OF_SIGN[sign],
        score=score,
        confidence=abs(score),
        scored_at=at or timezone.now(),
    )
