"""The news page in a browser: the demo's real headlines (the feed snapshots), the filters and the
search swapping the results in place, the sources with their state."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import expect

from apps.news.demo import demo_news_load
from apps.news.models import NewsSource
from tests.conftest import shared_data_path
from tests.factories import UserFactory

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.shared_data,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

SCREENSHOT = Path(settings.BASE_DIR) / "var" / "e2e-artifacts" / "news-page.png"


def test_the_news_page_shows_the_demo_headlines_and_filters_them(page: Any, log_in: Any) -> None:
    shared_data_path("rss")
    demo_news_load(shared_data_dir=Path(settings.SHARED_DATA_DIR), stdout=io.StringIO())
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
