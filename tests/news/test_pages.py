from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.template.loader import render_to_string

from apps.news.models import NewsSentiment, NewsSource
from tests.factories import NewsItemFactory, NewsSourceFactory

pytestmark = pytest.mark.django_db


def at(day: int) -> datetime:
    return datetime(2025, 12, day, 12, tzinfo=UTC)


@pytest.fixture
def headlines() -> None:
    NewsItemFactory(title="Bitcoin and ether rally", published_at=at(10), assets=["BTC", "ETH"])
    NewsItemFactory(title="Solana outage", published_at=at(11), assets=["SOL"])
    NewsItemFactory(title="Fed holds rates", published_at=at(12), source=NewsSourceFactory(name="Other"))
    NewsSource.objects.filter(name="Other").update(last_error="HTTP 500 Internal Server Error", enabled=True)


def test_the_news_page_lists_headlines_filters_and_sources(client, viewer, headlines) -> None:
    client.force_login(viewer)

    page = client.get("/news/").content.decode()
    btc = client.get("/news/", {"asset": "btc"}).content.decode()
    dated = client.get("/news/", {"since": "2025-12-11", "until": "2025-12-12", "q": "outage"}).content.decode()

    assert '<a href="/news/">News</a>' in page
    assert page.index("Fed holds rates") < page.index("Solana outage") < page.index("Bitcoin and ether rally")
    assert "2025-12-12 12:00" in page
    assert "HTTP 500 Internal Server Error" in page
    assert "Bitcoin and ether rally" in btc and "Solana outage" not in btc
    assert "Solana outage" in dated and "Fed holds rates" not in dated


def test_htmx_gets_only_the_results_and_bad_filters_are_ignored(client, viewer, headlines) -> None:
    client.force_login(viewer)

    partial = client.get("/news/", {"source": "x", "since": "soon"}, headers={"HX-Request": "true"}).content.decode()

    assert '<div id="news-results"' in partial
    assert partial.count('class="news-row"') == 3
    assert "news-sources" not in partial


def test_the_sentiment_cell_shows_a_score_when_the_item_has_one() -> None:
    scored = render_to_string("news/_item_sentiment.html", {"item": {"sentiment": {"label": "positive", "score": 0.4}}})
    unscored = render_to_string("news/_item_sentiment.html", {"item": {}})

    assert "positive 0.40" in scored
    assert unscored.strip() == "—"


def test_an_outsider_cannot_read_the_news(client, outsider) -> None:
    client.force_login(outsider)

    assert client.get("/news/").status_code == 403


def test_admins_edit_sources_in_the_admin_others_only_read_items(client, admin_user, operator) -> None:
    NewsItemFactory()
    client.force_login(operator)
    assert client.get("/admin/news/newssource/add/").status_code == 403

    client.force_login(admin_user)
    created = client.post(
        "/admin/news/newssource/add/",
        {"name": "Decrypt", "kind": "rss", "feed_url": "https://decrypt.co/feed", "poll_interval_minutes": 15},
    )
    refused = client.post(
        "/admin/news/newssource/add/",
        {"name": "Elsewhere", "kind": "rss", "feed_url": "ftp://x.example/f", "poll_interval_minutes": 1},
    )

    assert created.status_code == 302
    assert NewsSource.objects.filter(name="Decrypt", enabled=False).exists()
    assert "must be an http or https URL" in refused.content.decode()
    assert client.get("/admin/news/newsitem/").status_code == 200
    assert client.get("/admin/news/newsitem/add/").status_code == 403


def test_the_news_page_shows_each_items_label_and_score_by_the_chosen_analyzer(client, viewer, settings) -> None:
    NewsItemFactory(title="Exchange hacked, funds drained")
    NewsItemFactory(title="Bitcoin trades near $60K")
    call_command("news_score", stdout=StringIO())
    call_command("news_score", "--analyzer", "vader", stdout=StringIO())
    client.force_login(viewer)

    page = client.get("/news/").content.decode()

    hacked = NewsSentiment.objects.get(analyzer="lexicon", item__title__startswith="Exchange hacked")
    assert f"negative {hacked.score:.2f}" in page
    assert "neutral 0.00" in page
    assert page.count('class="sentiment ') == 2
    settings.SENTIMENT_ANALYZER = "llama_cpp"
    assert client.get("/news/").content.decode().count('class="sentiment ') == 0
