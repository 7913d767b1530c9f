"""/api/v1/news: the stored headlines, read by every role (RoleSessionAuth already requires the
viewer role); /api/v1/news/sources: the feeds, read by every role, changed by admins only."""

# No `from __future__ import annotations` here (as in apps/signals/api.py): ninja's pagination
# wrapper hides this module's globals, so a string annotation such as Query[NewsFiltersIn]
# could not be resolved when the endpoint is built.
from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from pydantic import ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from apps.core.crud import CrudSpec, crud_router
from apps.core.paging import Pagination
from apps.core.schemas import InputSchema, RowId
from apps.news import selectors, services
from apps.news.models import NewsItem, NewsSentiment, NewsSource

ASSET_FIELD = {"min_length": 1, "max_length": 20, "pattern": r"^[A-Za-z0-9]+$"}
FEED_URL_FIELD = {"min_length": 10, "max_length": 500, "pattern": r"^https?://\S+$"}
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


class NewsFiltersIn(Schema):
    asset: str | None = Field(None, description="A ticker the item mentions (BTC).", **ASSET_FIELD)
    source: RowId | None = Field(None, description="News source id.")
    since: datetime | None = Field(None, description="Published at or after this time (UTC when no offset).")
    until: datetime | None = Field(None, description="Published before this time (UTC when no offset).")
    search: str | None = Field(None, max_length=200, description="Words in the title or the summary.")
    label: NewsSentiment.Label | None = Field(
        None,
        description="The label of the item's score by the SENTIMENT_ANALYZER analyzer (unscored items never match).",
    )

    @field_validator("until")
    @classmethod
    def _after_since(cls, until: datetime | None, info: ValidationInfo) -> datetime | None:
        since = info.data.get("since")
        if until is not None and since is not None and selectors.as_utc(until) <= selectors.as_utc(since):
            raise PydanticCustomError("range", "must be after since")
        return until

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
    feed_url: str
    enabled: bool
    poll_interval_minutes: int
    last_fetched_at: datetime | None = Field(description="The last poll the feed answered.")
    last_error: str = Field(description="Why the last poll failed; empty when it did not.")
    etag: str
    last_modified: str
    created_at: datetime
    updated_at: datetime


class NewsSourceIn(InputSchema):
    name: str = Field(**NAME_FIELD)
    feed_url: str = Field(**FEED_URL_FIELD)
    enabled: bool = Field(False, description="Only enabled sources are polled.")
    poll_interval_minutes: int = Field(15, **INTERVAL_FIELD)


class NewsSourcePatch(InputSchema):
    """Fields left out stay as they are."""

    name: str | None = Field(None, **NAME_FIELD)
    feed_url: str | None = Field(None, **FEED_URL_FIELD)
    enabled: bool | None = None
    poll_interval_minutes: int | None = Field(None, **INTERVAL_FIELD)


class NewsSourceFilters(Schema):
    enabled: bool | None = None
    search: str | None = Field(None, max_length=200, description="Words in the name or the feed URL.")


# Sources own no secrets, so the `secrets` the CRUD router passes is always empty.
sources_router = crud_router(
    CrudSpec(
        model=NewsSource,
        out=NewsSourceOut,
        create_in=NewsSourceIn,
        patch_in=NewsSourcePatch,
        filters=NewsSourceFilters,
        select=selectors.news_source_list,
        create=lambda secrets, **fields: services.news_source_create(**fields),
        update=lambda source, changes, secrets: services.news_source_update(source=source, changes=changes),
        delete=lambda source: services.news_source_delete(source=source),
    ),
    tags=["news"],
)
router.add_router("/sources", sources_router)
