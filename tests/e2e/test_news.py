"""The news page in a browser: the demo's real headlines (the feed snapshots), the filters and the
search swapping the results in place, the sources with their state, and the chart of an asset's
rolling sentiment beside its price."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from playwright.sync_api import expect

from apps.market.candles_io import datetime_to_ms
from apps.market.services import candle_series_import
from apps.news.demo import demo_news_load
from apps.news.models import NewsSource
from tests.conftest import shared_data_path
from tests.factories import MarketFactory, UserFactory
from tests.market.helpers import HOUR, series_of

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.shared_data,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

ARTIFACTS = Path(settings.BASE_DIR) / "var" / "e2e-artifacts"
SCREENSHOT = ARTIFACTS / "news-page.png"


def demo_headlines() -> None:
    shared_data_path("rss")
    demo_news_load(shared_data_dir=Path(settings.SHARED_DATA_DIR), stdout=io.StringIO())


def test_the_news_page_shows_the_demo_headlines_and_filters_them(page: Any, log_in: Any) -> None:
    demo_headlines()
    NewsSource.objects.filter(name="The Block").update(last_error="timed out after 15 s")
    log_in(UserFactory(role="viewer"))

    page.goto("/")
    page.locator("nav.top").get_by_role("link", name="News").click()

    expect(page.get_by_role("heading", name="News", exact=True)).to_be_visible()
    rows = page.locator("#news-table tr.news-row")
    expect(rows).to_have_count(30)
    # The newest snapshot headline: The Block's, written 17:33:11 -0500, shown in UTC.
    expect(rows.first).to_contain_text("2025-12-12 22:33")
    expect(rows.first).to_contain_text("The Block")
    expect(page.locator("#news-sources tr.source-row")).to_have_count(4)
    expect(page.locator("#news-sources")).to_contain_text("timed out after 15 s")
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    page.get_by_label("Asset").select_option("SOL")

    expect(page).to_have_url("/news/?q=&asset=SOL&source=&label=&since=&until=")
    for assets in page.locator("#news-table td.news-assets").all_inner_texts():
        assert "SOL" in assets.split()

    page.get_by_label("Source").select_option(label="CoinDesk")

    expect(rows.first).to_contain_text("CoinDesk")
    expect(page.locator("#news-table")).not_to_contain_text("The Block")

    page.get_by_label("Asset").select_option("")
    page.get_by_label("Search").fill("juventus")

    expect(page).to_have_url(re.compile(r"q=juventus"))
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Crypto Firm Tether Says It Wants to Take Over Italian Football Club Juventus")
    expect(rows.first.locator("td.news-assets")).to_have_text("USDT")


def test_the_chart_draws_an_assets_sentiment_beside_its_price_and_follows_the_picker_and_filters(
    page: Any, log_in: Any
) -> None:
    demo_headlines()
    call_command("news_score", stdout=io.StringIO())
    # Hourly BTC candles over the snapshots' two days (a made-up walk: the test checks the drawing,
    # not the prices); ETH has headlines but no market.
    first_open = datetime_to_ms(datetime(2025, 12, 10, tzinfo=UTC))
    rows = [[first_open + i * HOUR, p, p + 50, p - 50, p + 10, 1.0] for i, p in enumerate(range(90_000, 93_600, 50))]
    candle_series_import(market=MarketFactory(), timeframe="1h", series=series_of(rows), source="test")
    log_in(UserFactory(role="viewer"))

    page.goto("/news/")

    chart = page.locator("#sentiment-chart")
    picker = chart.get_by_label("Chart of")
    expect(picker).to_have_value("BTC")  # the asset most headlines mention
    expect(chart).to_have_attribute("data-asset", "BTC")
    expect(chart.locator(".chart canvas").first).to_be_visible()
    expect(chart.locator(".chart-note")).to_have_text("")
    chart.screenshot(path=str(ARTIFACTS / "news-sentiment-chart-btc.png"))

    picker.select_option("ETH")

    expect(chart).to_have_attribute("data-asset", "ETH")
    expect(chart.locator(".chart-note")).to_have_text("No market of ETH holds 1h candles.")
    expect(chart.locator(".chart canvas").first).to_be_visible()
    chart.screenshot(path=str(ARTIFACTS / "news-sentiment-chart-eth.png"))

    with page.expect_response(lambda response: "/api/v1/sentiment" in response.url) as answer:
        page.get_by_label("Sentiment").select_option("negative")

    assert "label=negative" in answer.value.url and answer.value.ok
    expect(page).to_have_url(re.compile(r"label=negative"))
    labels = page.locator("#news-table td.news-sentiment")
    expect(labels.first).to_contain_text("negative")
    assert all(text.startswith("negative") for text in labels.all_inner_texts())
    expect(chart.locator(".chart canvas").first).to_be_visible()

    page.get_by_label("Asset").select_option("BTC")  # the page's filter moves the picker

    expect(picker).to_have_value("BTC")
    expect(chart).to_have_attribute("data-asset", "BTC")
    expect(chart.locator(".chart-note")).to_have_text("")
    expect(chart.locator(".chart canvas").first).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "news-page-negative.png"), full_page=True)
