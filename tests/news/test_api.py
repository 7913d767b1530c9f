from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import call_command

from apps.news.models import NewsSource
from tests.factories import NewsItemFactory, NewsSourceFactory
from tests.news.helpers import scored

pytestmark = pytest.mark.django_db

URL = "/api/v1/news"
SOURCES = "/api/v1/news/sources"


def at(day: int) -> datetime:
    return datetime(2025, 12, day, 12, tzinfo=UTC)


@pytest.fixture
def headlines() -> None:
    other = NewsSourceFactory(name="Other")
    NewsItemFactory(title="Bitcoin and ether rally", published_at=at(10), assets=["BTC", "ETH"])
    NewsItemFactory(title="Solana outage", published_at=at(11), assets=["SOL"], summary="Validators halted")
    NewsItemFactory(title="Fed holds rates", published_at=at(12), source=other)


def titles(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["title"] for item in response.json()["items"]]


def test_viewer_lists_headlines_newest_first_with_filters_and_pages(client, viewer, headlines) -> None:
    client.force_login(viewer)
    other = NewsSource.objects.get(name="Other")

    everything = client.get(URL).json()

    assert everything["count"] == 3
    first = everything["items"][0]
    assert (first["title"], first["source_name"], first["assets"]) == ("Fed holds rates", "Other", [])
    assert first["published_at"] == "2025-12-12T12:00:00Z"
    assert titles(client.get(URL, {"asset": "eth"})) == ["Bitcoin and ether rally"]
    assert titles(client.get(URL, {"source": other.pk})) == ["Fed holds rates"]
    assert titles(client.get(URL, {"since": "2025-12-11T00:00", "until": "2025-12-12T00:00"})) == ["Solana outage"]
    assert titles(client.get(URL, {"since": "2025-12-11T08:00:00-05:00"})) == ["Fed holds rates"]
    # An unusual offset is converted, not handed to the database as written (PostgreSQL refused +20:48).
    assert titles(client.get(URL, {"since": "2025-12-12T08:48:00+20:48"})) == ["Fed holds rates", "Solana outage"]
    assert titles(client.get(URL, {"search": "validators"})) == ["Solana outage"]
    assert titles(client.get(URL, {"limit": 1, "offset": 1})) == ["Solana outage"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"asset": "BTC/USDT"}, "asset"),
        ({"source": 0}, "source"),
        ({"since": "yesterday"}, "since"),
        ({"since": "0001-01-01T00:00:00+01:00"}, "since"),
        ({"until": "9999-12-31T23:00:00-05:00"}, "until"),
        ({"since": "2025-12-12T00:00", "until": "2025-12-11T00:00"}, "until"),
        ({"limit": 0}, "limit"),
        ({"label": "bullish"}, "label"),
    ],
)
def test_bad_filters_answer_422_naming_the_field(client, viewer, query: dict, field: str) -> None:
    client.force_login(viewer)

    response = client.get(URL, query)

    assert response.status_code == 422
    assert [error["loc"][-1] for error in response.json()["detail"]] == [field]


def test_the_label_filter_reads_each_items_current_score_and_combines_with_the_others(client, viewer, settings) -> None:
    other = NewsSourceFactory(name="Other")
    rescored = NewsItemFactory(title="Rescored", published_at=at(1), assets=["BTC"])
    scored(rescored, -0.4, version="v1", at=at(20))
    scored(rescored, 0.3, version="v2", at=at(21))  # the newest version's label is the item's label
    split = NewsItemFactory(title="Split", published_at=at(2), assets=["BTC"])
    scored(split, -0.5)
    scored(split, 0.6, analyzer="vader")
    flat = NewsItemFactory(title="Flat", published_at=at(3), assets=["ETH"], source=other)
    scored(flat, 0.0)
    NewsItemFactory(title="Unscored", published_at=at(4), assets=["BTC"])
    for day in (5, 6):
        scored(NewsItemFactory(title=f"Good {day}", published_at=at(day), source=other), 0.2)
    client.force_login(viewer)

    assert titles(client.get(URL, {"label": "positive"})) == ["Good 6", "Good 5", "Rescored"]
    assert titles(client.get(URL, {"label": "negative"})) == ["Split"]
    assert titles(client.get(URL, {"label": "neutral"})) == ["Flat"]
    assert titles(client.get(URL, {"label": "positive", "asset": "BTC"})) == ["Rescored"]
    assert titles(client.get(URL, {"label": "positive", "source": other.pk})) == ["Good 6", "Good 5"]
    assert titles(client.get(URL, {"label": "positive", "until": at(6).isoformat()})) == ["Good 5", "Rescored"]
    second = client.get(URL, {"label": "positive", "limit": 1, "offset": 1}).json()
    assert (second["count"], [item["title"] for item in second["items"]]) == (3, ["Good 5"])
    settings.SENTIMENT_ANALYZER = "vader"
    assert titles(client.get(URL, {"label": "positive"})) == ["Split"]


def test_admins_create_update_and_delete_sources_viewers_only_read(client, viewer, admin_user) -> None:
    new = {"name": "Decrypt", "feed_url": "https://decrypt.co/feed"}
    client.force_login(viewer)
    assert client.post(SOURCES, new, content_type="application/json").status_code == 403

    client.force_login(admin_user)
    created = client.post(SOURCES, new, content_type="application/json")
    assert created.status_code == 201
    source = created.json()
    assert (source["enabled"], source["poll_interval_minutes"], source["last_error"]) == (False, 15, "")

    changed = client.patch(
        f"{SOURCES}/{source['id']}", {"enabled": True, "poll_interval_minutes": 5}, content_type="application/json"
    )
    assert (changed.json()["enabled"], changed.json()["poll_interval_minutes"]) == (True, 5)

    client.force_login(viewer)
    assert [row["name"] for row in client.get(SOURCES, {"enabled": "true"}).json()["items"]] == ["Decrypt"]

    client.force_login(admin_user)
    assert client.delete(f"{SOURCES}/{source['id']}").status_code == 204
    assert not NewsSource.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "X", "feed_url": "ftp://example.com/feed"}, "feed_url"),
        ({"name": "X", "feed_url": "http://00[/feed"}, "feed_url"),
        ({"name": "", "feed_url": "https://example.com/feed"}, "name"),
        ({"name": "X", "feed_url": "https://example.com/feed", "poll_interval_minutes": 0}, "poll_interval_minutes"),
        ({"name": "Taken", "feed_url": "https://example.com/feed"}, "name"),
        ({"name": "X", "feed_url": "https://taken.example/feed"}, "feed_url"),
    ],
)
def test_a_bad_source_answers_422_naming_the_field(client, admin_user, body: dict, field: str) -> None:
    NewsSourceFactory(name="Taken", feed_url="https://taken.example/feed")
    client.force_login(admin_user)

    response = client.post(SOURCES, body, content_type="application/json")

    assert response.status_code == 422
    assert [error["loc"][-1] for error in response.json()["detail"]] == [field]


def test_a_source_with_items_is_not_deleted(client, admin_user) -> None:
    item = NewsItemFactory()
    client.force_login(admin_user)

    response = client.delete(f"{SOURCES}/{item.source_id}")

    assert response.status_code == 409
    assert NewsSource.objects.filter(pk=item.source_id).exists()


def test_each_headline_carries_its_sentiment_once_scored(client, viewer) -> None:
    NewsItemFactory(title="Token crashes after rug pull", published_at=at(2))
    NewsItemFactory(title="Bitcoin trades near $60K", published_at=at(1))
    client.force_login(viewer)
    before = client.get(URL).json()["items"]
    call_command("news_score", stdout=StringIO())

    after = client.get(URL).json()["items"]

    assert [item["sentiment"] for item in before] == [None, None]
    crash, flat = after
    assert crash["sentiment"]["analyzer"] == "lexicon"
    assert crash["sentiment"]["label"] == "negative" and -1 <= crash["sentiment"]["score"] < 0
    assert crash["sentiment"]["version"].startswith("vader-3.3.2+crypto-1")
    assert (flat["sentiment"]["label"], flat["sentiment"]["score"]) == ("neutral", 0.0)
