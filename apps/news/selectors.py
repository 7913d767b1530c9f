"""Reads of news items and sources, for the pages, the API and the commands."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from django.conf import settings
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery

from apps.market.arrays import CandleArrays
from apps.market.candles_io import datetime_to_ms, ms_to_datetime
from apps.market.models import Market
from apps.market.timeframes import timeframe_ms
from apps.news.models import NewsItem, NewsMention, NewsSentiment, NewsSource
from apps.news.rolling import rolling_sentiment

HOUR_MS = 3_600_000


@dataclass(frozen=True)
class NewsFilters:
    asset: str | None = None
    source: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    search: str | None = None


def news_item_list(*, filters: NewsFilters = NewsFilters()) -> QuerySet[NewsItem]:
    """Items published in [since, until), newest first; `search` looks in titles and summaries."""
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
    return items.order_by("-published_at", "-id")


def _current_sentiments() -> Prefetch:
    """The scores of the analyzer the settings choose, its newest first (NewsItem.sentiment reads them)."""
    rows = NewsSentiment.objects.filter(analyzer=settings.SENTIMENT_ANALYZER).order_by("-scored_at", "-id")
    return Prefetch("sentiments", queryset=rows, to_attr="current_sentiments")


def as_utc(moment: datetime) -> datetime:
    """Item times are UTC; a time given without an offset means UTC too."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def news_source_list(
    *, enabled: bool | None = None, kind: str | None = None, search: str | None = None
) -> QuerySet[NewsSource]:
    sources = NewsSource.objects.select_related("bearer_token").order_by("name")
    if enabled is not None:
        sources = sources.filter(enabled=enabled)
    if kind:
        sources = sources.filter(kind=kind)
    if search:
        sources = sources.filter(Q(name__icontains=search) | Q(feed_url__icontains=search) | Q(query__icontains=search))
    return sources


def news_assets() -> list[str]:
    """Every asset some stored item mentions, for the asset filter."""
    return list(NewsMention.objects.order_by("asset").values_list("asset", flat=True).distinct())


def news_item_unscored_list(*, analyzer_name: str, version: str) -> QuerySet[NewsItem]:
    """Items without a score of this analyzer version, newest first: what a live trader reads now
    comes before an old backlog."""
    scored = NewsSentiment.objects.filter(item=OuterRef("pk"), analyzer=analyzer_name, version=version)
    return NewsItem.objects.filter(~Exists(scored)).only("id", "title").order_by("-published_at", "-id")


@dataclass(frozen=True)
class SentimentPoint:
    """An asset's rolling sentiment at one close: None when no scored item counts (missing, not neutral)."""

    close_time: datetime
    value: float | None
    count: int


@dataclass(frozen=True)
class SentimentSeries:
    """An asset's rolling sentiment aligned to the closes asked for: `values` NaN where missing,
    `counts` the items each value averages. `version` is the analyzer version whose scores were read
    (None when no score was read: none in the range, or the analyzer has scored nothing)."""

    asset: str
    analyzer: str
    version: str | None
    window: int
    max_age_hours: int
    closes_ms: np.ndarray
    values: np.ndarray
    counts: np.ndarray

    @property
    def points(self) -> list[SentimentPoint]:
        return [
            SentimentPoint(ms_to_datetime(close), None if np.isnan(value) else float(value), int(count))
            for close, value, count in zip(
                self.closes_ms.tolist(), self.values.tolist(), self.counts.tolist(), strict=True
            )
        ]


def asset_sentiment_series(
    *,
    asset: str,
    closes: Sequence[datetime] | np.ndarray,
    analyzer: str | None = None,
    window: int | None = None,
    max_age_hours: int | None = None,
) -> SentimentSeries:
    """The rolling sentiment of `asset` (a ticker: BTC) at each of `closes` (aware datetimes, or epoch
    milliseconds): the mean score of the last `window` items mentioning it published strictly before
    the close and at most `max_age_hours` old (apps.news.rolling). Scores are those of `analyzer`
    (default SENTIMENT_ANALYZER) in its current version, the one that scored last: a new version's
    scores replace the old ones as it rescores the items, never mixed with them.
    One query (the version a subquery of it) for the scores of the whole range. ValueError for a
    window or an age below 1."""
    name = analyzer or settings.SENTIMENT_ANALYZER
    window = settings.NEWS_SENTIMENT_WINDOW if window is None else window
    max_age_hours = settings.NEWS_SENTIMENT_MAX_AGE_HOURS if max_age_hours is None else max_age_hours
    if window < 1 or max_age_hours < 1:
        raise ValueError(f"window ({window}) and max_age_hours ({max_age_hours}) must each be at least 1")
    closes_ms = _as_ms(closes)
    asset = asset.upper()
    max_age_ms = max_age_hours * HOUR_MS
    rows: list[tuple[datetime, float, str]] = []
    if len(closes_ms):
        rows = list(
            NewsSentiment.objects.filter(
                analyzer=name,
                version=Subquery(_current_version(name)),
                item__mentions__asset=asset,
                item__published_at__gte=ms_to_datetime(int(closes_ms.min()) - max_age_ms),
                item__published_at__lt=ms_to_datetime(int(closes_ms.max())),
            )
            .order_by("item__published_at", "item_id")
            .values_list("item__published_at", "score", "version")
        )
    published_ms = np.array([datetime_to_ms(published) for published, _score, _version in rows], dtype=np.int64)
    scores = np.array([score for _published, score, _version in rows], dtype=np.float64)
    rolled = rolling_sentiment(published_ms, scores, closes_ms, window=window, max_age_ms=max_age_ms)
    return SentimentSeries(
        asset=asset,
        analyzer=name,
        version=rows[0][2] if rows else None,
        window=window,
        max_age_hours=max_age_hours,
        closes_ms=closes_ms,
        values=rolled.values,
        counts=rolled.counts,
    )


def candle_sentiment(*, market: Market, timeframe: str, candles: CandleArrays) -> np.ndarray:
    """The strategies' `sentiment` input: the rolling sentiment of the market's base asset at each
    candle's close (open time + timeframe), NaN where missing. The worker's cycle, live signals and
    every backtest read it here, so they read the same values."""
    closes = candles.open_time + timeframe_ms(timeframe)
    return asset_sentiment_series(asset=market.base, closes=closes).values


def _as_ms(closes: Sequence[datetime] | np.ndarray) -> np.ndarray:
    if isinstance(closes, np.ndarray) and closes.dtype.kind in "iu":
        return closes.astype(np.int64)
    return np.array([datetime_to_ms(as_utc(close)) for close in closes], dtype=np.int64)


def _current_version(analyzer: str) -> QuerySet[NewsSentiment]:
    """The version of `analyzer` that scored last (news_items_score scores with the running code's)."""
    newest = NewsSentiment.objects.filter(analyzer=analyzer).order_by("-scored_at", "-id")
    return newest.values("version")[:1]
