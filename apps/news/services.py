"""Polling news sources and storing their items once.

Dedup: an entry is a duplicate of a stored item with the same guid in the same feed (a
republished story), else the same URL in any feed (the same story in two feeds), else the same
normalised title published within DEDUP_WINDOW of it (syndicated copies under other URLs). The
unique `dedup_key` (apps.news.feeds.dedup_key) closes the race of two polls storing one entry.

A source's failure (network, timeout, HTTP error, size cap, not a feed) is stored on it as
`last_error` and never stops the other sources.

X recent-search sources (apps.news.x_search) run only with settings.NEWS_X_ENABLED: off, the poller
skips them, and none can be added or enabled. Their posts take the RSS items' path from
`news_entries_store` on (dedup, mentions, then scoring).
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
from apps.core.events import EventType, publish
from apps.market.models import Market
from apps.news.assets import assets_mentioned, known_tickers
from apps.news.credentials import x_bearer_token
from apps.news.feeds import FeedEntry, FeedError, dedup_key, feed_fetch, feed_parse, title_normalise
from apps.news.models import NewsItem, NewsMention, NewsSentiment, NewsSource
from apps.news.selectors import news_item_unscored_list
from apps.news.sentiment.base import Analyzer, Sentiment
from apps.news.x_search import XRateLimited, recent_search
from apps.secrets.redaction import redact_text
from apps.secrets.services import (
    UNCHANGED,
    SecretInput,
    secret_fields_delete,
    secret_fields_save,
    secret_will_be_set,
)

logger = logging.getLogger(__name__)

DEDUP_WINDOW = timedelta(hours=48)
EDITABLE_FIELDS = ("name", "kind", "feed_url", "query", "enabled", "poll_interval_minutes")
ERROR_MAX_CHARS = 500
X_OFF = "X sources are off: set NEWS_X_ENABLED=true to use them"
X = NewsSource.Kind.X_RECENT_SEARCH


@dataclass(frozen=True)
class StoreCounts:
    new: int = 0
    duplicates: int = 0


@dataclass(frozen=True)
class PollResult:
    source: str
    outcome: str  # "fetched", "not modified", "skipped" (`error` says why; nothing asked) or "error"
    new: int = 0
    duplicates: int = 0
    error: str = ""

    def __str__(self) -> str:
        if self.outcome == "not modified":
            return f"{self.source}: not modified"
        if self.outcome == "skipped":
            return f"{self.source}: skipped ({self.error})"
        counts = f"{self.new} new, {self.duplicates} duplicates"
        return f"{self.source}: {counts}" + (f"; error: {self.error}" if self.error else "")


# Sources --------------------------------------------------------------------------------------------------------


def news_source_validate(source: NewsSource, secrets: Mapping[str, SecretInput] | None = None) -> None:
    """The service's rules for a source about to be saved with `secrets` (the admin form runs them too)."""
    secrets = secrets or {}
    if source.kind == X:
        _x_source_validate(source, secrets)
    else:
        _rss_source_validate(source, secrets)
    if NewsSource.objects.exclude(pk=source.pk).filter(name=source.name).exists():
        raise ServiceValidationError("name", f"{source.name} is already a source")


def _rss_source_validate(source: NewsSource, secrets: Mapping[str, SecretInput]) -> None:
    try:
        scheme = urlsplit(source.feed_url).scheme
    except ValueError as error:  # urlsplit refuses a malformed host, such as "http://00["
        raise ServiceValidationError("feed_url", f"is not a URL ({error})") from None
    if scheme not in ("http", "https"):
        raise ServiceValidationError("feed_url", "must be an http or https URL")
    if NewsSource.objects.exclude(pk=source.pk).filter(feed_url=source.feed_url).exists():
        raise ServiceValidationError("feed_url", "is already a source")
    if source.query:
        raise ServiceValidationError("query", "is for X sources; an RSS source has a feed URL only")
    if secret_will_be_set(instance=source, field="bearer_token", value=secrets.get("bearer_token", UNCHANGED)):
        raise ServiceValidationError("bearer_token", "is for X sources; remove it from an RSS source")


def _x_source_validate(source: NewsSource, secrets: Mapping[str, SecretInput]) -> None:
    if not settings.NEWS_X_ENABLED:
        # Off, an X source stored earlier may be disabled, renamed or deleted; none may be made or enabled.
        stored = NewsSource.objects.filter(pk=source.pk).values("kind", "enabled").first()
        if stored is None or stored["kind"] != X:
            raise ServiceValidationError("kind", X_OFF)
        if source.enabled and not stored["enabled"]:
            raise ServiceValidationError("enabled", X_OFF)
    if not source.query.strip():
        raise ServiceValidationError("query", "an X source needs its recent-search query")
    if source.feed_url:
        raise ServiceValidationError("feed_url", "an X source has a query, not a feed URL")
    if not secret_will_be_set(instance=source, field="bearer_token", value=secrets.get("bearer_token", UNCHANGED)):
        raise ServiceValidationError("bearer_token", "an X source needs the bearer token of an X developer app")


@transaction.atomic
def news_source_create(
    *,
    name: str,
    feed_url: str = "",
    kind: str = NewsSource.Kind.RSS,
    query: str = "",
    enabled: bool = False,
    poll_interval_minutes: int = 15,
    secrets: Mapping[str, SecretInput] | None = None,
) -> NewsSource:
    source = NewsSource(
        name=name,
        kind=kind,
        feed_url=feed_url,
        query=query.strip(),
        enabled=enabled,
        poll_interval_minutes=poll_interval_minutes,
    )
    secrets = dict(secrets or {})
    news_source_validate(source, secrets)
    return secret_fields_save(instance=source, values=secrets)


@transaction.atomic
def news_source_update(
    *, source: NewsSource, changes: Mapping[str, Any], secrets: Mapping[str, SecretInput] | None = None
) -> NewsSource:
    source = NewsSource.objects.select_for_update().get(pk=source.pk)
    before = (source.feed_url, source.query)
    for field, value in changes.items():
        if field not in EDITABLE_FIELDS:
            raise ServiceValidationError(field, "is not an editable field")
        setattr(source, field, value.strip() if field == "query" else value)
    if (source.feed_url, source.query) != before:
        source.forget_answers()
    secrets = dict(secrets or {})
    news_source_validate(source, secrets)
    return secret_fields_save(instance=source, values=secrets)


@transaction.atomic
def news_source_delete(*, source: NewsSource) -> None:
    """Refused (ProtectedError, a 409) while the source has items: disable it instead."""
    secret_fields_delete(instance=source, fields=NewsSource.SECRET_FIELDS)


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
    """Enabled sources never fetched, or fetched longer ago than their own poll interval; X sources
    only with NEWS_X_ENABLED, and not while X rate-limits them."""
    sources = NewsSource.objects.filter(enabled=True).exclude(rate_limited_until__gt=now).order_by("name")
    if not settings.NEWS_X_ENABLED:
        sources = sources.exclude(kind=X)
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
        return _poll_failed(source, error=f"unexpected failure: {exc.__class__.__name__}: {exc}")


def news_source_poll(*, source: NewsSource) -> PollResult:
    """Fetch the source, store its new items, record the outcome on it."""
    if source.kind == X:
        return _x_source_poll(source)
    return _rss_source_poll(source)


def _rss_source_poll(source: NewsSource) -> PollResult:
    """Fetch the feed with its ETag / Last-Modified."""
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
        return _poll_failed(source, error=str(exc))
    # A feed read only in part keeps its old validators, so that the next poll asks for all of it again.
    validators = {} if problem else {"etag": fetched.etag[:300], "last_modified": fetched.last_modified[:100]}
    _source_record(source, error=problem, **validators)
    return PollResult(
        source=source.name, outcome="fetched", new=counts.new, duplicates=counts.duplicates, error=problem
    )


def _x_source_poll(source: NewsSource) -> PollResult:
    """Search X for the posts newer than the source's since_id; nothing runs with NEWS_X_ENABLED off."""
    now = timezone.now()
    if not settings.NEWS_X_ENABLED:
        return PollResult(source=source.name, outcome="skipped", error=X_OFF)
    if source.rate_limited_until is not None and source.rate_limited_until > now:
        return PollResult(source=source.name, outcome="skipped", error=source.last_error or "rate limited by X")
    if source.bearer_token_id is None:
        return _poll_failed(source, error="no bearer token: set the source's bearer token")
    try:
        found = recent_search(
            base_url=settings.NEWS_X_API_BASE_URL,
            token=x_bearer_token(source),
            query=source.query,
            since_id=source.since_id,
            max_results=settings.NEWS_X_MAX_RESULTS,
            max_pages=settings.NEWS_X_MAX_PAGES,
            timeout=settings.NEWS_FETCH_TIMEOUT_SECONDS,
            max_bytes=settings.NEWS_FEED_MAX_BYTES,
            now=now,
        )
    except XRateLimited as exc:
        return _poll_failed(source, error=str(exc), rate_limited_until=exc.reset_at)
    except FeedError as exc:
        return _poll_failed(source, error=str(exc))
    counts = news_entries_store(source=source, entries=found.entries, fetched_at=now)
    problem = found.problem
    # The posts of the pages read are stored; a later page's failure is recorded like a first page's.
    _source_record(
        source,
        error=str(problem or ""),
        since_id=found.newest_id or source.since_id,
        rate_limited_until=problem.reset_at if isinstance(problem, XRateLimited) else None,
    )
    return PollResult(
        source=source.name, outcome="fetched", new=counts.new, duplicates=counts.duplicates, error=str(problem or "")
    )


def _poll_failed(source: NewsSource, *, error: str, **fields: Any) -> PollResult:
    # The error is stored, shown to every role and kept in the task's result: cut out any secret
    # value this process holds (an unforeseen exception could quote the bearer token; x_search
    # already cuts it out of its own errors).
    error = redact_text(error)
    logger.info("News source %s failed: %s", source.name, error)
    _source_record(source, error=error, reached=False, **fields)
    return PollResult(source=source.name, outcome="error", error=error)


def _source_record(source: NewsSource, *, error: str, reached: bool = True, **fields: Any) -> None:
    changes: dict[str, Any] = {
        "last_error": error[:ERROR_MAX_CHARS],
        "updated_at": timezone.now(),
        **fields,
    }
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
    return news_entries_store(source=source, entries=parsed.entries, fetched_at=fetched_at), parsed.problem


def news_entries_store(*, source: NewsSource, entries: Iterable[FeedEntry], fetched_at: datetime) -> StoreCounts:
    """Store the entries not stored yet, with the assets they mention (every source kind's one path)."""
    tickers = known_tickers(Market.objects.values_list("base", flat=True).distinct())
    new = duplicates = 0
    for entry in entries:
        if news_item_store(source=source, entry=entry, fetched_at=fetched_at, tickers=tickers) is None:
            duplicates += 1
        else:
            new += 1
    return StoreCounts(new=new, duplicates=duplicates)


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
            _news_publish(item=item, source=source, assets=sorted(mentioned))
    except IntegrityError:
        # Another poll stored the same entry meanwhile (the unique dedup key).
        return None
    return item


def _news_publish(*, item: NewsItem, source: NewsSource, assets: list[str]) -> None:
    """The live event of a stored item, in its transaction; it is scored later (sentiment null)."""
    data = {
        "item_id": item.pk,
        "title": item.title,
        "source": source.name,
        "source_id": source.pk,
        "assets": assets,
        "published_at": item.published_at,
        "sentiment": None,
    }
    publish(EventType.NEWS, data)


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
