"""Reads of news items and sources, for the pages, the API and the commands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery

from apps.news.models import NewsItem, NewsMention, NewsSentiment, NewsSource


@dataclass(frozen=True)
class NewsFilters:
    asset: str | None = None
    source: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    search: str | None = None
    label: str | None = None  # a NewsSentiment.Label of the current analyzer's score


def news_item_list(*, filters: NewsFilters = NewsFilters()) -> QuerySet[NewsItem]:
    """Items published in [since, until), newest first; `search` looks in titles and summaries;
    `label` keeps the items whose current score (as NewsItem.sentiment shows it) has that label."""
    items = NewsItem.objects.select_related("source").prefetch_related("mentions", _current_sentiments())
    if filters.asset:
        items = items.filter(mentions__asset=filters.asset.upper())
    if filters.source:
        items = items.filter(source_id=filters.source)
    if filters.since is not None:
        items = items.filter(published_at__gte=as_utc(filters.since))
    if filters.until is not None:
        items = items.filter(published_at__lt=as_utc(filters.until))
    if filters.search:
        items = items.filter(Q(title__icontains=filters.search) | Q(summary__icontains=filters.search))
    if filters.label:
        items = items.annotate(current_label=Subquery(_current_scores(item=OuterRef("pk")).values("label")[:1]))
        items = items.filter(current_label=filters.label)
    return items.order_by("-published_at", "-id")


def _current_sentiments() -> Prefetch:
    """The scores of the analyzer the settings choose, its newest first (NewsItem.sentiment reads them)."""
    return Prefetch("sentiments", queryset=_current_scores(), to_attr="current_sentiments")


def _current_scores(**lookups: object) -> QuerySet[NewsSentiment]:
    """Scores by the analyzer SENTIMENT_ANALYZER names, its newest first: the first one of an item
    is the item's current score, whichever version wrote it."""
    rows = NewsSentiment.objects.filter(analyzer=settings.SENTIMENT_ANALYZER, **lookups)
    return rows.order_by("-scored_at", "-id")


def as_utc(moment: datetime) -> datetime:
    """Item times are UTC; a time given without an offset means UTC too."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def news_source_list(*, enabled: bool | None = None, search: str | None = None) -> QuerySet[NewsSource]:
    sources = NewsSource.objects.order_by("name")
    if enabled is not None:
        sources = sources.filter(enabled=enabled)
    if search:
        sources = sources.filter(Q(name__icontains=search) | Q(feed_url__icontains=search))
    return sources


def news_assets() -> list[str]:
    """Every asset some stored item mentions, for the asset filter."""
    return list(NewsMention.objects.order_by("asset").values_list("asset", flat=True).distinct())


def news_item_unscored_list(*, analyzer_name: str, version: str) -> QuerySet[NewsItem]:
    """Items without a score of this analyzer version, newest first: what a live trader reads now
    comes before an old backlog."""
    scored = NewsSentiment.objects.filter(item=OuterRef("pk"), analyzer=analyzer_name, version=version)
    return NewsItem.objects.filter(~Exists(scored)).only("id", "title").order_by("-published_at", "-id")
