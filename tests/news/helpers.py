"""Scored headlines for the tests that read sentiment: one at a time, or many at random times."""

from __future__ import annotations

import hashlib
import math
from datetime import datetime

import numpy as np
from django.utils import timezone

from apps.market.candles_io import ms_to_datetime
from apps.news.models import NewsItem, NewsMention, NewsSentiment
from tests.factories import NewsItemFactory, NewsSourceFactory

ANALYZER, VERSION = "lexicon", "tests-1"


def _label(score: float) -> str:
    return "positive" if score > 0 else "negative" if score < 0 else "neutral"


def scored_item(
    published_at: datetime,
    score: float,
    *,
    assets: tuple[str, ...] = ("BTC",),
    analyzer: str = ANALYZER,
    version: str = VERSION,
    scored_at: datetime | None = None,
    title: str | None = None,
) -> NewsItem:
    """One headline mentioning `assets`, scored `score` by `analyzer` `version`."""
    extra = {"title": title} if title else {}
    item = NewsItemFactory(published_at=published_at, assets=list(assets), **extra)
    NewsSentiment.objects.create(
        item=item,
        analyzer=analyzer,
        version=version,
        label=_label(score),
        score=score,
        confidence=abs(score),
        scored_at=scored_at or timezone.now(),
    )
    return item


def scored_news(*, asset: str, start_ms: int, end_ms: int, count: int, seed: int = 1) -> list[tuple[int, float]]:
    """`count` headlines mentioning `asset` at random times in [start_ms, end_ms), scored at random in
    [-1, 1] (a few exactly 0), stored in bulk; returns their (publish ms, score), oldest first."""
    rng = np.random.default_rng(seed)
    published = np.sort(rng.integers(start_ms, end_ms, count))
    scores = np.round(rng.uniform(-1, 1, count), 3)
    scores[rng.random(count) < 0.05] = 0.0
    source = NewsSourceFactory(name=f"Random news {seed}")
    now = timezone.now()
    items = NewsItem.objects.bulk_create(
        NewsItem(
            source=source,
            guid=f"random-{seed}-{index}",
            url=f"https://news.example/random/{seed}/{index}",
            title=f"Random headline {index}",
            title_key=f"random headline {seed} {index}",
            published_at=ms_to_datetime(int(moment)),
            fetched_at=now,
            dedup_key=hashlib.sha256(f"random-{seed}-{index}".encode()).hexdigest(),
        )
        for index, moment in enumerate(published)
    )
    NewsMention.objects.bulk_create(NewsMention(item=item, asset=asset) for item in items)
    NewsSentiment.objects.bulk_create(
        NewsSentiment(
            item=item,
            analyzer=ANALYZER,
            version=VERSION,
            label=_label(float(score)),
            score=float(score),
            confidence=abs(float(score)),
            scored_at=now,
        )
        for item, score in zip(items, scores, strict=True)
    )
    return list(zip(published.tolist(), scores.tolist(), strict=True))


def reference_rolling_sentiment(
    published_ms: list[int], scores: list[float], moments_ms: list[int], *, window: int, max_age_ms: int
) -> tuple[list[float], list[int]]:
    """The reference: for each moment, walk every item, keep those published before it and not too
    old, take the last `window` of them in their stored order and average them."""
    values, counts = [], []
    for moment in moments_ms:
        eligible = [
            score
            for published, score in zip(published_ms, scores, strict=True)
            if moment - max_age_ms <= published < moment
        ]
        chosen = eligible[-window:]
        values.append(sum(chosen) / len(chosen) if chosen else math.nan)
        counts.append(len(chosen))
    return values, counts
