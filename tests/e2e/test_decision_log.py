"""The decision log in a browser: a trader's real decisions, filtered by outcome in place."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.audit.helpers import traded_round_trip
from tests.e2e.helpers import duplicate_ids, htmx_settled, inherited_htmx
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_the_log_filters_real_decisions_by_outcome_and_opens_one(page: Any, log_in: Any, operator_user: Any) -> None:
    traded_round_trip(operator_user)  # five cycles: held, entered, held, exited, held
    log_in(UserFactory(role="viewer"))
    page.goto("/")
    page.locator("nav.top").get_by_role("link", name="Decisions").click()
    expect(page).to_have_title("Decisions · TradeOps")
    table = page.locator("#decision-table tbody tr")
    expect(table).to_have_count(5)
    expect(page.locator("#decision-stats")).to_contain_text("100.00 %")

    with htmx_settled(page):
        page.get_by_label("Outcome").select_option("traded")

    expect(page).to_have_url(re.compile(r"/logs/\?(.*&)?outcome=traded"))
    expect(table).to_have_count(2)
    expect(table.locator(".badge")).to_have_text(["Traded", "Traded"])
    expect(table.nth(0)).to_contain_text("Exit")
    expect(table.nth(1)).to_contain_text("Enter long")
    expect(table.nth(1)).to_contain_text("sentiment missing")
    expect(page.locator("#decision-stats tbody td").first).to_have_text("2")
    assert inherited_htmx(page) == [] and duplicate_ids(page) == []

    table.nth(1).get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Enter long")
    expect(page.locator("#decision-inputs")).to_contain_text("rsi_2")
    expect(page.locator("#decision-risk")).to_contain_text("approve")
