"""Reads of news items and sources, for the pages, the API and the commands."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.conf import settings
from django.db.models import Count, Exists, Max, Min, OuterRef, Prefetch, Q, QuerySet, Subquery

from apps.core.times import as_utc
from apps.market.arrays import CandleArrays
from apps.market.candles_io import datetime_to_ms, ms_to_datetime
from apps.market.models import Candle, Market
from apps.market.selectors import Coverage, market_coverage
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


def news_asset_counts() -> list[tuple[str, int]]:
    """Every asset some stored item mentions and how many items do, by asset: the asset filter and
    the chart's picker."""
    return list(
        NewsMention.objects.values("asset").order_by("asset").annotate(items=Count("id")).values_list("asset", "items")
    )


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
    source: int | None = None,
    label: str | None = None,
) -> SentimentSeries:
    """The rolling sentiment of `asset` (a ticker: BTC) at each of `closes` (aware datetimes, or epoch
    milliseconds): the mean score of the last `window` items mentioning it published strictly before
    the close and at most `max_age_hours` old (apps.news.rolling). Scores are those of `analyzer`
    (default SENTIMENT_ANALYZER) in its current version, the one that scored last: a new version's
    scores replace the old ones as it rescores the items, never mixed with them. `source` (an id)
    and `label` (a NewsSentiment.Label of that score) keep only those items, for the sentiment API.
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
                **_chosen_items(source=source, label=label),
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


def _chosen_items(*, source: int | None, label: str | None) -> dict[str, object]:
    """Score lookups keeping one source's items, or the scores of one label."""
    lookups: dict[str, object] = {}
    if source is not None:
        lookups["item__source_id"] = source
    if label is not None:
        lookups["label"] = label
    return lookups


def _as_ms(closes: Sequence[datetime] | np.ndarray) -> np.ndarray:
    if isinstance(closes, np.ndarray) and closes.dtype.kind in "iu":
        return closes.astype(np.int64)
    return np.array([datetime_to_ms(as_utc(close)) for close in closes], dtype=np.int64)


def _current_version(analyzer: str) -> QuerySet[NewsSentiment]:
    """The version of `analyzer` that scored last (news_items_score scores with the running code's)."""
    newest = NewsSentiment.objects.filter(analyzer=analyzer).order_by("-scored_at", "-id")
    return newest.values("version")[:1]


SENTIMENT_CHART_MAX_CLOSES = 1000


@dataclass(frozen=True)
class SentimentChart:
    """An asset's rolling sentiment and its price on one timeframe's closes, for the sentiment API and
    /news/'s chart: `prices[i]` is the close price of `market`'s candle that closed at
    `series.closes_ms[i]`, None where none is stored. `market` is None when no market of the asset
    holds candles of the timeframe; `coverage` is what it holds."""

    series: SentimentSeries
    timeframe: str
    market: Market | None
    coverage: Coverage | None
    prices: list[float | None]


def asset_sentiment_chart(
    *,
    asset: str,
    timeframe: str,
    since: datetime | None = None,
    until: datetime | None = None,
    source: int | None = None,
    label: str | None = None,
) -> SentimentChart:
    """The closes in [since, until] (rounded inwards to the timeframe's closes), at most
    SENTIMENT_CHART_MAX_CLOSES of them. A bound left out defaults to the asset's headlines (from the
    close before the first to the close after the newest; `source` and `label` choose them as they
    choose the series' items), or to the stored candles when no headline mentions the asset; past
    the maximum, the newest closes are kept. Items published before `since` still count in the
    first closes' windows."""
    asset = asset.upper()
    step = timeframe_ms(timeframe)
    market, coverage = _price_market(asset=asset, timeframe=timeframe)
    headlines = news_item_list(filters=NewsFilters(asset=asset, source=source, label=label)).aggregate(
        first=Min("published_at"), last=Max("published_at")
    )
    if headlines["first"] is not None:
        data = (
            datetime_to_ms(headlines["first"]) // step * step,
            (datetime_to_ms(headlines["last"]) // step + 1) * step,
        )
    elif coverage is not None:
        data = (datetime_to_ms(coverage.first_open_time) + step, datetime_to_ms(coverage.last_open_time) + step)
    else:
        data = None
    closes_ms = _chart_closes(step=step, since=since, until=until, data=data)
    series = asset_sentiment_series(asset=asset, closes=closes_ms, source=source, label=label)
    prices = _prices_at(market=market, timeframe=timeframe, closes_ms=closes_ms) if market else [None] * len(closes_ms)
    return SentimentChart(series=series, timeframe=timeframe, market=market, coverage=coverage, prices=prices)


def news_asset_known(*, asset: str) -> bool:
    """Whether some headline mentions the asset or some market trades it (the sentiment API's 404)."""
    asset = asset.upper()
    return NewsMention.objects.filter(asset=asset).exists() or Market.objects.filter(base=asset).exists()


def _price_market(*, asset: str, timeframe: str) -> tuple[Market | None, Coverage | None]:
    """The asset's first market (by symbol, then exchange) holding candles of the timeframe."""
    market = Market.objects.filter(base=asset, series_stats__timeframe=timeframe).order_by("symbol", "exchange").first()
    if market is None:
        return None, None
    coverage = next(
        entry for entry in market_coverage(market_ids=[market.pk])[market.pk] if entry.timeframe == timeframe
    )
    return market, coverage


def _chart_closes(
    *, step: int, since: datetime | None, until: datetime | None, data: tuple[int, int] | None
) -> np.ndarray:
    """Every close from `since` (rounded up) to `until` (rounded down); a bound left out is the data's,
    or without data the other bound. Past the maximum, the newest closes are kept, or the first ones
    when only `since` was given."""
    first = -(-datetime_to_ms(as_utc(since)) // step) * step if since is not None else data[0] if data else None
    last = datetime_to_ms(as_utc(until)) // step * step if until is not None else data[1] if data else None
    if first is None and last is None:
        return np.empty(0, dtype=np.int64)
    first = last if first is None else first
    last = first if last is None else last
    span = (SENTIMENT_CHART_MAX_CLOSES - 1) * step
    if last - first > span:
        first, last = (last - span, last) if since is None else (first, first + span)
    return np.arange(first, last + 1, step, dtype=np.int64)


def _prices_at(*, market: Market, timeframe: str, closes_ms: np.ndarray) -> list[float | None]:
    """The close price of the market's candle that closed at each close time, None where none is stored
    (through the ORM: a thousand rows do not need candle_arrays' bulk reader)."""
    prices: list[float | None] = [None] * len(closes_ms)
    if len(closes_ms):
        step, first = timeframe_ms(timeframe), int(closes_ms[0])
        candles = Candle.objects.filter(
            market=market,
            timeframe=timeframe,
            open_time__gte=ms_to_datetime(first - step),
            open_time__lte=ms_to_datetime(int(closes_ms[-1]) - step),
        )
        for open_time, close in candles.values_list("open_time", "close"):
            prices[(datetime_to_ms(open_time) + step - first) // step] = float(close)
    return prices
