from __future__ import annotations

import re
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.template.loader import render_to_string

from apps.news.models import NewsItem, NewsSentiment, NewsSource
from tests.factories import NewsItemFactory, NewsSourceFactory
from tests.news.helpers import scored

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


def test_htmx_gets_only_the_results_and_bad_filters_are_left_out_saying_so(client, viewer, headlines) -> None:
    client.force_login(viewer)
    query = {"source": "x", "since": "soon", "until": "0001-01-01T00:00:00+01:00", "label": "bullish"}

    partial = client.get("/news/", query, headers={"HX-Request": "true"}).content.decode()
    full = client.get("/news/", query)

    assert '<div id="news-results"' in partial
    assert partial.count('class="news-row"') == 3
    assert "news-sources" not in partial
    assert 'id="news-filter-problems"' in partial
    assert "source &#x27;x&#x27; is not a source id" in partial
    assert "since &#x27;soon&#x27; is not a date from 1970 to 9000" in partial
    assert "until &#x27;0001-01-01T00:00:00+01:00&#x27; is not a date from 1970 to 9000" in partial
    assert "label &#x27;bullish&#x27; is not one of negative, neutral, positive" in partial
    assert full.status_code == 200 and "news-filter-problems" in full.content.decode()
    assert "news-filter-problems" not in client.get("/news/", {"label": "positive"}).content.decode()


def test_the_label_filter_keeps_the_items_whose_current_score_has_that_label(client, viewer, headlines) -> None:
    for title, score in (("Bitcoin and ether rally", 0.5), ("Solana outage", -0.6), ("Fed holds rates", 0.0)):
        scored(NewsItem.objects.get(title=title), score)
    for n in range(31):
        scored(NewsItemFactory(title=f"Upbeat {n:02d}", published_at=at(1), assets=["BTC"]), 0.1 + n / 100)
    client.force_login(viewer)

    negative = client.get("/news/", {"label": "negative"}).content.decode()
    positive_btc = client.get("/news/", {"label": "positive", "asset": "BTC"}).content.decode()
    second_page = client.get("/news/", {"label": "positive", "asset": "BTC", "page": 2}).content.decode()

    assert negative.count('class="news-row"') == 1 and "Solana outage" in negative
    assert '<option value="negative" selected>Negative</option>' in negative
    assert positive_btc.count('class="news-row"') == 30
    assert "Bitcoin and ether rally" in positive_btc and "Solana outage" not in positive_btc
    # The pager keeps the filters; the last page holds the oldest match.
    assert "?label=positive&amp;asset=BTC&amp;page=2" in positive_btc
    assert second_page.count('class="news-row"') == 2 and "Upbeat 00" in second_page


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


def test_the_chart_panel_offers_the_assets_with_news_and_opens_on_the_filtered_or_most_mentioned(
    client, viewer, headlines
) -> None:
    NewsItemFactory(title="Ether upgrade ships", published_at=at(9), assets=["ETH"])
    client.force_login(viewer)

    page = client.get("/news/").content.decode()
    sol = client.get("/news/", {"asset": "sol"}).content.decode()

    assert 'data-url="/api/v1/sentiment"' in page
    assert "lightweight-charts-5.3.0/lightweight-charts.standalone.production.js" in page
    assert "js/charts.js" in page and "js/news_sentiment.js" in page
    options = re.findall(r'<option value="(\w+)" (selected)?>\1 \((\d+) headlines?\)</option>', page)
    assert options == [("BTC", "", "1"), ("ETH", "selected", "2"), ("SOL", "", "1")]
    assert '<option value="SOL" selected>SOL (1 headline)</option>' in sol


def test_without_headlines_about_an_asset_the_chart_panel_says_so(client, viewer) -> None:
    NewsItemFactory(title="Fed holds rates")
    client.force_login(viewer)

    page = client.get("/news/").content.decode()

    assert "No headline mentions an asset yet, so there is no sentiment to chart." in page
    assert 'class="chart"' not in page
