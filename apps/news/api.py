"""/api/v1/news: the stored headlines, read by every role (RoleSessionAuth already requires the
viewer role); /api/v1/news/sources: the feeds and X searches, read by every role, changed by admins
only. An X source's bearer token is write-only: answers show whether it is set and its fingerprint.
/api/v1/sentiment: an asset's rolling sentiment beside its price, read by every role."""

# No `from __future__ import annotations` here (as in apps/signals/api.py): ninja's pagination
# wrapper hides this module's globals, so a string annotation such as Query[NewsFiltersIn]
# could not be resolved when the endpoint is built.
from datetime import datetime, timedelta

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError
from ninja.pagination import paginate
from pydantic import SecretStr, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from apps.core.crud import CrudSpec, crud_router
from apps.core.paging import Pagination
from apps.core.schemas import ErrorOut, InputSchema, RowId, TimeRangeIn
from apps.market.models import Timeframe
from apps.market.timeframes import timeframe_ms
from apps.news import selectors, services
from apps.news.models import X_QUERY_MAX_CHARS, NewsItem, NewsSentiment, NewsSource
from apps.secrets.schemas import SecretStatusOut, secret_inputs, secret_status_out

ASSET_FIELD = {"min_length": 1, "max_length": 20, "pattern": r"^[A-Za-z0-9]+$"}
FEED_URL_FIELD = {"max_length": 500, "pattern": r"^(https?://\S+)?$", "description": "RSS: the feed's URL."}
QUERY_FIELD = {
    "max_length": X_QUERY_MAX_CHARS,
    "description": 'X: the recent-search query, e.g. "(bitcoin OR BTC) lang:en -is:retweet".',
}
KIND_DESCRIPTION = "rss, or x_recent_search (only with NEWS_X_ENABLED on the server)."
TOKEN_DESCRIPTION = "X: the app's bearer token. Write-only: answers show its fingerprint, never the value."
NAME_FIELD = {"min_length": 1, "max_length": 100}
INTERVAL_FIELD = {"ge": 1, "le": 1440, "description": "Minutes between two polls of this source."}

router = Router(tags=["news"])


class NewsSentimentOut(Schema):
    analyzer: str
    version: str
    label: str = Field(description="negative, neutral or positive.")
    score: float = Field(description="From -1 (negative) to 1 (positive).")
    confidence: float = Field(description="From 0 to 1.")


class NewsItemOut(Schema):
    id: int
    source_id: int
    source_name: str
    guid: str
    url: str
    title: str
    summary: str
    published_at: datetime = Field(description="UTC; the fetch time when the feed gave none.")
    fetched_at: datetime
    assets: list[str] = Field(description="Tickers the title or summary mentions (BTC, ETH, ...).")
    sentiment: NewsSentimentOut | None = Field(
        None, description="The score by the SENTIMENT_ANALYZER analyzer (its newest version); null until scored."
    )

    @staticmethod
    def resolve_source_name(obj: NewsItem) -> str:
        return obj.source.name


class NewsFiltersIn(TimeRangeIn):
    asset: str | None = Field(None, description="A ticker the item mentions (BTC).", **ASSET_FIELD)
    source: RowId | None = Field(None, description="News source id.")
    since: datetime | None = Field(None, description="Published at or after this time (UTC when no offset).")
    until: datetime | None = Field(None, description="Published before this time (UTC when no offset).")
    search: str | None = Field(None, max_length=200, description="Words in the title or the summary.")
    label: NewsSentiment.Label | None = Field(
        None,
        description="The label of the item's score by the SENTIMENT_ANALYZER analyzer (unscored items never match).",
    )

    def selected(self) -> selectors.NewsFilters:
        return selectors.NewsFilters(**self.dict())


@router.get("", response=list[NewsItemOut], url_name="news_list", operation_id="news_list")
@paginate(Pagination)
def news_list(request: HttpRequest, filters: Query[NewsFiltersIn]):
    """Headlines, newest first."""
    return selectors.news_item_list(filters=filters.selected())


class NewsSourceOut(Schema):
    id: int
    name: str
    kind: NewsSource.Kind
    feed_url: str
    query: str
    bearer_token: SecretStatusOut
    enabled: bool
    poll_interval_minutes: int
    last_fetched_at: datetime | None = Field(description="The last poll the feed answered.")
    last_error: str = Field(description="Why the last poll failed; empty when it did not.")
    etag: str
    last_modified: str
    since_id: str = Field(description="X: the newest post seen; the next search asks only for newer ones.")
    rate_limited_until: datetime | None = Field(description="X: rate limited, not polled before this time.")
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_bearer_token(obj: NewsSource) -> SecretStatusOut:
        return secret_status_out(obj.bearer_token)


class NewsSourceIn(InputSchema):
    name: str = Field(**NAME_FIELD)
    kind: NewsSource.Kind = Field(NewsSource.Kind.RSS, description=KIND_DESCRIPTION)
    feed_url: str = Field("", **FEED_URL_FIELD)
    query: str = Field("", **QUERY_FIELD)
    bearer_token: SecretStr | None = Field(None, description=TOKEN_DESCRIPTION)
    enabled: bool = Field(False, description="Only enabled sources are polled.")
    poll_interval_minutes: int = Field(15, **INTERVAL_FIELD)


class NewsSourcePatch(InputSchema):
    """Fields left out stay as they are; a bearer_token sent as null is removed."""

    name: str | None = Field(None, **NAME_FIELD)
    kind: NewsSource.Kind | None = Field(None, description=KIND_DESCRIPTION)
    feed_url: str | None = Field(None, **FEED_URL_FIELD)
    query: str | None = Field(None, **QUERY_FIELD)
    bearer_token: SecretStr | None = Field(None, description=TOKEN_DESCRIPTION)
    enabled: bool | None = None
    poll_interval_minutes: int | None = Field(None, **INTERVAL_FIELD)


class NewsSourceFilters(Schema):
    enabled: bool | None = None
    kind: NewsSource.Kind | None = None
    search: str | None = Field(None, max_length=200, description="Words in the name, the feed URL or the X query.")


sources_router = crud_router(
    CrudSpec(
        model=NewsSource,
        out=NewsSourceOut,
        create_in=NewsSourceIn,
        patch_in=NewsSourcePatch,
        filters=NewsSourceFilters,
        select=selectors.news_source_list,
        create=services.news_source_create,
        update=lambda source, **kwargs: services.news_source_update(source=source, **kwargs),
        delete=lambda source: services.news_source_delete(source=source),
        secret_fields=NewsSource.SECRET_FIELDS,
        read_secrets=secret_inputs,
    ),
    tags=["news"],
)
router.add_router("/sources", sources_router)


sentiment_router = Router(tags=["news"])


class SentimentFiltersIn(TimeRangeIn):
    asset: str = Field(
        description="A ticker (BTC): one that headlines mention or a market trades.", examples=["BTC"], **ASSET_FIELD
    )
    timeframe: Timeframe = Field(Timeframe("1h"), description="One point per close of this timeframe's candles.")
    source: RowId | None = Field(None, description="Only this news source's headlines.")
    label: NewsSentiment.Label | None = Field(None, description="Only the headlines scored with this label.")
    since: datetime | None = Field(
        None, description="The first close (UTC when no offset); default: the close before the first headline."
    )
    until: datetime | None = Field(
        None, description="The last close (UTC when no offset); default: the close after the newest headline."
    )

    @field_validator("until")
    @classmethod
    def _a_bounded_range(cls, until: datetime | None, info: ValidationInfo) -> datetime | None:
        since, timeframe = info.data.get("since"), info.data.get("timeframe")
        if until is not None and since is not None and timeframe is not None:
            closes = (until - since).total_seconds() * 1000 // timeframe_ms(timeframe)
            if closes >= selectors.SENTIMENT_CHART_MAX_CLOSES:
                raise PydanticCustomError(
                    "range",
                    "the range holds more than {limit} closes of {timeframe}: shorten it or choose a longer timeframe",
                    {"limit": selectors.SENTIMENT_CHART_MAX_CLOSES, "timeframe": timeframe},
                )
        return until


class SentimentMarketOut(Schema):
    id: int
    exchange: str
    symbol: str
    first_close: datetime = Field(description="The close of its first stored candle of the timeframe.")
    last_close: datetime = Field(description="The close of its last stored candle of the timeframe.")


class SentimentPointOut(Schema):
    time: datetime = Field(description="A candle close (UTC).")
    sentiment: float | None = Field(
        description="Mean score (-1 to 1) of the last `window` headlines published before `time`, none older "
        "than `max_age_hours`; null when none counts (missing, not neutral)."
    )
    headlines: int = Field(description="How many headlines the mean is over.")
    close: float | None = Field(description="The market's close price at `time`; null when no candle is stored.")


class SentimentOut(Schema):
    asset: str
    timeframe: str
    analyzer: str = Field(description="SENTIMENT_ANALYZER: whose scores are averaged.")
    version: str | None = Field(
        description="The analyzer version whose scores were read (its newest); null when no score counts."
    )
    window: int = Field(description="NEWS_SENTIMENT_WINDOW: the most headlines one mean is over.")
    max_age_hours: int = Field(description="NEWS_SENTIMENT_MAX_AGE_HOURS: older headlines no longer count.")
    market: SentimentMarketOut | None = Field(
        description="The market whose prices are given: the asset's first holding candles of the timeframe; "
        "null when none does."
    )
    points: list[SentimentPointOut] = Field(description="One per close, oldest first; empty when there is no data.")


@sentiment_router.get(
    "", response={200: SentimentOut, 404: ErrorOut}, url_name="sentiment_series", operation_id="sentiment_series"
)
def sentiment_series(request: HttpRequest, filters: Query[SentimentFiltersIn]):
    """An asset's rolling news sentiment over time, with its market's close price at each close."""
    if not selectors.news_asset_known(asset=filters.asset):
        raise HttpError(404, f"No headline mentions {filters.asset.upper()} and no market trades it.")
    chart = selectors.asset_sentiment_chart(
        asset=filters.asset,
        timeframe=filters.timeframe.value,
        since=filters.since,
        until=filters.until,
        source=filters.source,
        label=filters.label.value if filters.label else None,
    )
    return _sentiment_out(chart)


def _sentiment_out(chart: selectors.SentimentChart) -> dict:
    series, step = chart.series, timeframe_ms(chart.timeframe)
    market = None
    if chart.market is not None and chart.coverage is not None:
        market = {
            "id": chart.market.pk,
            "exchange": chart.market.exchange,
            "symbol": chart.market.symbol,
            "first_close": chart.coverage.first_open_time + timedelta(milliseconds=step),
            "last_close": chart.coverage.last_open_time + timedelta(milliseconds=step),
        }
    points = [
        {"time": point.close_time, "sentiment": point.value, "headlines": point.count, "close": price}
        for point, price in zip(series.points, chart.prices, strict=True)
    ]
    return {
        "asset": series.asset,
        "timeframe": chart.timeframe,
        "analyzer": series.analyzer,
        "version": series.version,
        "window": series.window,
        "max_age_hours": series.max_age_hours,
        "market": market,
        "points": points,
    }
