"""A stored news item is published as a live `news` event in the transaction that stores it; a duplicate
is not stored, so it publishes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from apps.core.models import Event
from apps.news import services
from apps.news.feeds import FeedEntry
from tests.factories import MarketFactory, NewsSourceFactory

pytestmark = pytest.mark.django_db
PUBLISHED = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)


def test_a_stored_item_is_published_once_with_the_assets_it_mentions() -> None:
    MarketFactory()  # BTC is a known ticker
    source = NewsSourceFactory(name="Wire")
    entry = FeedEntry(
        guid="a-1", url="https://news.example/a-1", title="BTC rallies", summary="", published_at=PUBLISHED
    )

    item = services.news_item_store(source=source, entry=entry, fetched_at=PUBLISHED, tickers=frozenset({"BTC"}))
    assert (
        services.news_item_store(source=source, entry=entry, fetched_at=PUBLISHED, tickers=frozenset({"BTC"})) is None
    )

    (event,) = Event.objects.filter(type="news")
    assert event.data == {
        "item_id": item.pk,
        "title": "BTC rallies",
        "source": "Wire",
        "source_id": source.pk,
        "assets": ["BTC"],
        "published_at": "2024-03-01T09:30:00Z",
        "sentiment": None,
    }
