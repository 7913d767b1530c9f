"""The X news source in a browser: an admin adds one in the admin only while NEWS_X_ENABLED is on,
the token is never shown again, and /news/ lists the source with its kind and query."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import expect

from apps.news.models import NewsSource
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SCREENSHOT = Path(settings.BASE_DIR) / "var" / "e2e-artifacts" / "news-x-source.png"
QUERY = "(bitcoin OR BTC) lang:en -is:retweet"


def test_an_admin_adds_an_x_source_only_with_the_flag_and_never_sees_its_token_again(
    page: Any, log_in: Any, settings: Any
) -> None:
    token = "AAAAAAAAAAAAAAAAAAAAA" + secrets.token_urlsafe(30)
    settings.NEWS_X_ENABLED = False
    log_in(UserFactory(role="admin"))

    page.goto("/admin/news/newssource/add/")
    page.get_by_label("Name").fill("X: bitcoin")
    page.get_by_label("Kind").select_option("x_recent_search")
    page.get_by_label("Query").fill(QUERY)
    page.get_by_label("Bearer token").fill(token)
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.locator(".errorlist")).to_contain_text("X sources are off: set NEWS_X_ENABLED=true to use them")
    expect(page.get_by_label("Bearer token")).to_have_value("")
    assert token not in page.content()

    settings.NEWS_X_ENABLED = True
    page.get_by_label("Bearer token").fill(token)
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    source = NewsSource.objects.get(name="X: bitcoin")
    page.goto(f"/admin/news/newssource/{source.pk}/change/")
    expect(page.get_by_text(f"fingerprint {source.bearer_token.fingerprint}")).to_be_visible()
    expect(page.get_by_label("Bearer token")).to_have_value("")
    assert token not in page.content()

    page.goto("/news/")
    row = page.locator("#news-sources tr.source-row", has_text="X: bitcoin")
    expect(row.locator("td.source-kind")).to_have_text("X recent search")
    expect(row).to_contain_text(QUERY)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert token not in page.content()
