"""Polling news sources and storing their items once.

Dedup: an entry is a duplicate of a stored item with the same guid in the same feed (a
republished story), else the same URL in any feed (the same story in two feeds), else the same
normalised title published within DEDUP_WINDOW of it (syndicated copies under other URLs). The
unique `dedup_key` (apps.news.feeds.dedup_key) closes the race of two polls storing one entry.

A source's failure (network, timeout, HTTP error, size cap, not a feed) is stored on it as
`last_error` and never stops the other sources.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from apps.core.errors import ServiceValidationError
from apps.market.models import Market
from apps.news.assets import assets_mentioned, known_tickers
from apps.news.feeds import FeedEntry, FeedError, dedup_key, feed_fetch, feed_parse, title_normalise
from apps.news.models import NewsItem, NewsMention, NewsSentiment, NewsSource
from apps.news.selectors import news_item_unscored_list
from apps.news.sentiment.base import Analyzer, Sentiment

logger = logging.getLogger(__name__)

DEDUP_WINDOW = timedelta(hours=48)
EDITABLE_FIELDS = ("name", "feed_url", "enabled", "poll_interval_minutes")
ERROR_MAX_CHARS = 500


@dataclass(frozen=True)
class StoreCounts:
    new: int = 0
    duplicates: int = 0


@dataclass(frozen=True)
class PollResult:
    source: str
    outcome: str  # "fetched", "not modified" or "error"
    new: int = 0
    duplicates: int = 0
    error: str = ""

    def __str__(self) -> str:
        if self.outcome == "not modified":
            return f"{self.source}: not modified"
        counts = f"{self.new} new, {self.duplicates} duplicates"
        return f"{self.source}: {counts}" + (f"; error: {self.error}" if self.error else "")


# Sources --------------------------------------------------------------------------------------------------------


def news_source_validate(source: NewsSource) -> None:
    try:
        scheme = urlsplit(source.feed_url).scheme
    except ValueError as error:  # urlsplit refuses a malformed host, such as "http://00["
        raise ServiceValidationError("feed_url", f"is not a URL ({error})") from None
    if scheme not in ("http", "https"):
        raise ServiceValidationError("feed_url", "must be an http or https URL")
    clash = NewsSource.objects.exclude(pk=source.pk)
    if clash.filter(feed_url=source.feed_url).exists():
        raise ServiceValidationError("feed_url", "is already a source")
    if clash.filter(name=source.name).exists():
        raise ServiceValidationError("name", f"{source.name} is already a source")


@transaction.atomic
def news_source_create(
    *, name: str, feed_url: str, enabled: bool = False, poll_interval_minutes: int = 15
) -> NewsSource:
    source = NewsSource(name=name, feed_url=feed_url, enabled=enabled, poll_interval_minutes=poll_interval_minutes)
    news_source_validate(source)
    source.save()
    return source


@transaction.atomic
def news_source_update(*, source: NewsSource, changes: Mapping[str, Any]) -> NewsSource:
    source = NewsSource.objects.select_for_update().get(pk=source.pk)
    for field, value in changes.items():
        if field not in EDITABLE_FIELDS:
            raise ServiceValidationError(field, "is not an editable field")
        setattr(source, field, value)
    if "feed_url" in changes:
        # Another feed: the validators of the old one mean nothing to it.
        source.etag = source.last_modified = ""
    news_source_validate(source)
    source.save()
    return source


@transaction.atomic
def news_source_delete(*, source: NewsSource) -> None:
    """Refused (ProtectedError, a 409) while the source has items: disable it instead."""
    source.delete()


@transaction.atomic
def news_sources_import(*, lines: Iterable[str]) -> tuple[list[NewsSource], int]:
    """A source per feed URL (one a line; blank lines and # comments ignored), disabled until an
    operator enables it. Returns the new sources and how many URLs were already sources. All or nothing."""
    created: list[NewsSource] = []
    skipped = 0
    for url in _feed_urls(lines):
        if NewsSource.objects.filter(feed_url=url).exists():
            skipped += 1
            continue
        created.append(news_source_create(name=_source_name(url), feed_url=url))
    return created, skipped


def _feed_urls(lines: Iterable[str]) -> list[str]:
    urls = (line.split("#", 1)[0].strip() for line in lines)
    return list(dict.fromkeys(url for url in urls if url))


def _source_name(url: str) -> str:
    """The feed's host; host and path when that host is taken already."""
    parts = urlsplit(url)
    host = parts.netloc.lower().removeprefix("www.")
    for name in (host, f"{host}{parts.path}".rstrip("/"), url):
        if not NewsSource.objects.filter(name=name[:100]).exists():
            return name[:100]
    raise ServiceValidationError("name", f"no free name for {url}")


# Polling --------------------------------------------------------------------------------------------------------


def news_sources_due(*, now: datetime) -> list[NewsSource]:
    """Enabled sources never fetched, or fetched longer ago than their own poll interval."""
    sources = NewsSource.objects.filter(enabled=True).order_by("name")
    return [
        source
        for source in sources
        if source.last_fetched_at is None
        or source.last_fetched_at <= now - timedelta(minutes=source.poll_interval_minutes)
    ]


def news_sources_poll(*, sources: Iterable[NewsSource]) -> list[PollResult]:
    """Poll each source in turn; one failing never stops the others."""
    return [_poll_guarded(source) for source in sources]


def _poll_guarded(source: NewsSource) -> PollResult:
    try:
        return news_source_poll(source=source)
    except Exception as exc:
        # A bug or a feed no rule foresaw must cost this source one poll, not the other sources theirs.
        logger.exception("News source %s: unexpected failure", source.name)
        error = f"unexpected failure: {exc.__class__.__name__}: {exc}"
        _source_record(source, error=error, reached=False)
        return PollResult(source=source.name, outcome="error", error=error)


def news_source_poll(*, source: NewsSource) -> PollResult:
    """Fetch the source (with its ETag / Last-Modified), store its new items, record the outcome on it."""
    try:
        fetched = feed_fetch(
            source.feed_url,
            etag=source.etag,
            last_modified=source.last_modified,
            timeout=settings.NEWS_FETCH_TIMEOUT_SECONDS,
            max_bytes=settings.NEWS_FEED_MAX_BYTES,
        )
        if fetched.not_modified:
            _source_record(source, error="")
            return PollResult(source=source.name, outcome="not modified")
        counts, problem = news_feed_store(source=source, content=fetched.content, fetched_at=timezone.now())
    except FeedError as exc:
        logger.info("News source %s failed: %s", source.name, exc)
        _source_record(source, error=str(exc), reached=False)
        return PollResult(source=source.name, outcome="error", error=str(exc))
    # A feed read only in part keeps its old validators, so that the next poll asks for all of it again.
    validators = {} if problem else {"etag": fetched.etag[:300], "last_modified": fetched.last_modified[:100]}
    _source_record(source, error=problem, **validators)
    return PollResult(
        source=source.name, outcome="fetched", new=counts.new, duplicates=counts.duplicates, error=problem
    )


def _source_record(source: NewsSource, *, error: str, reached: bool = True, **validators: str) -> None:
    changes: dict[str, Any] = {"last_error": error[:ERROR_MAX_CHARS], "updated_at": timezone.now(), **validators}
    if reached:
        changes["last_fetched_at"] = timezone.now()
    # update(), not save(): an operator's edit of the source meanwhile (enabled, interval) is kept.
    NewsSource.objects.filter(pk=source.pk).update(**changes)
    for field, value in changes.items():
        setattr(source, field, value)


def news_feed_store(*, source: NewsSource, content: bytes, fetched_at: datetime) -> tuple[StoreCounts, str]:
    """Parse a feed's body and store its entries that are not stored yet (the poller's and the demo's
    one path). Returns the counts and the problem of a feed read only in part ("" when none);
    raises FeedError when the body is not a feed."""
    parsed = feed_parse(content)
    tickers = known_tickers(Market.objects.values_list("base", flat=True).distinct())
    new = duplicates = 0
    for entry in parsed.entries:
        if news_item_store(source=source, entry=entry, fetched_at=fetched_at, tickers=tickers) is None:
            duplicates += 1
        else:
            new += 1
    return StoreCounts(new=new, duplicates=duplicates), parsed.problem


def news_item_duplicate_of(*, source: NewsSource, entry: FeedEntry, published_at: datetime) -> NewsItem | None:
    """The stored item `entry` repeats: same guid in this feed, else same URL, else same title nearby in time."""
    candidates = [
        Q(source=source, guid=entry.guid) if entry.guid else None,
        Q(url=entry.url) if entry.url else None,
        Q(
            title_key=title_normalise(entry.title),
            published_at__gte=published_at - DEDUP_WINDOW,
            published_at__lte=published_at + DEDUP_WINDOW,
        ),
    ]
    for condition in candidates:
        if condition is not None and (found := NewsItem.objects.filter(condition).order_by("id").first()):
            return found
    return None


def news_item_store(
    *, source: NewsSource, entry: FeedEntry, fetched_at: datetime, tickers: frozenset[str]
) -> NewsItem | None:
    """Store `entry` with the assets it mentions; None when it is a duplicate."""
    published_at = entry.published_at or fetched_at
    if news_item_duplicate_of(source=source, entry=entry, published_at=published_at) is not None:
        return None
    try:
        with transaction.atomic():
            item = NewsItem.objects.create(
                source=source,
                guid=entry.guid,
                url=entry.url,
                title=entry.title,
                title_key=title_normalise(entry.title),
                summary=entry.summary,
                published_at=published_at,
                fetched_at=fetched_at,
                dedup_key=dedup_key(source_id=source.pk, entry=entry),
            )
            mentioned = assets_mentioned(f"{entry.title}\n{entry.summary}", tickers=tickers)
            NewsMention.objects.bulk_create([NewsMention(item=item, asset=asset) for asset in sorted(mentioned)])
    except IntegrityError:
        # Another poll stored the same entry meanwhile (the unique dedup key).
        return None
    return item


# Sentiment ------------------------------------------------------------------------------------------------------


def news_items_score(*, analyzer: Analyzer, batch_size: int, max_items: int | None = None) -> int:
    """Score the unscored items' titles in batches of `batch_size` (at most `max_items` in all), newest
    first; returns how many were scored. Each item is scored once per analyzer version."""
    scored = 0
    while max_items is None or scored < max_items:
        size = batch_size if max_items is None else min(batch_size, max_items - scored)
        batch = list(news_item_unscored_list(analyzer_name=analyzer.name, version=analyzer.version)[:size])
        if not batch:
            break
        # Scored outside a transaction: a model may take seconds, and no row needs to stay locked meanwhile.
        sentiments = analyzer.score_batch([item.title for item in batch])
        _sentiments_store(analyzer=analyzer, items=batch, sentiments=sentiments)
        scored += len(batch)
    return scored


@transaction.atomic
def _sentiments_store(*, analyzer: Analyzer, items: list[NewsItem], sentiments: list[Sentiment]) -> None:
    now = timezone.now()
    rows = [
        NewsSentiment(
            item=item,
            analyzer=analyzer.name,
            version=analyzer.version,
            label=sentiment.label.value,
            score=sentiment.score,
            confidence=sentiment.confidence,
            scored_at=now,
        )
        for item, sentiment in zip(items, sentiments, strict=True)
    ]
    # Another worker may have scored some of them meanwhile: the unique constraint keeps the first score.
    NewsSentiment.objects.bulk_create(rows, ignore_conflicts=True)
