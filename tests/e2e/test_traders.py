"""A trader created, started and stopped from /traders/ in a browser."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from apps.traders.models import Trader
from tests.e2e.helpers import duplicate_ids, inherited_htmx
from tests.strategies.factories import StrategyFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_operator_creates_starts_and_stops_a_trader(
    page: Any, log_in: Any, operator_user: Any, paper_trader: Any
) -> None:
    StrategyFactory(name="RSI dip")  # rsi_mean_reversion on BTC/USDT:USDT 1h, the paper market
    log_in(operator_user)
    page.goto("/traders/")
    page.get_by_role("button", name="New trader").click()
    expect(page.get_by_role("heading", name="New trader")).to_be_visible()
    page.get_by_label("Name", exact=True).fill("Browser bot")
    page.get_by_label("Account").select_option(label=str(paper_trader.account))
    page.get_by_label("Risk profile").select_option(label="Standard")
    page.get_by_label("Strategy", exact=True).select_option(label="RSI dip v1")
    page.locator("#trader-markets").get_by_label(re.compile("BTC/USDT:USDT")).check()
    assert inherited_htmx(page) == [] and duplicate_ids(page) == []
    page.get_by_role("button", name="Save").click()

    trader = Trader.objects.get(name="Browser bot")
    expect(page).to_have_url(f"/traders/{trader.pk}/")
    expect(page.get_by_role("heading", name="Browser bot")).to_contain_text("stopped")
    page.get_by_role("button", name="Start", exact=True).click()
    expect(page.get_by_role("heading", name="Start Browser bot?")).to_be_visible()
    page.get_by_role("button", name="Start Browser bot").click()
    expect(page.get_by_role("heading", name="Browser bot")).to_contain_text("running")
    expect(page.locator("#status-reason")).to_contain_text(f"started by {operator_user.username}")

    page.goto("/traders/")
    row = page.locator(f"#trader-{trader.pk}")
    expect(row).to_contain_text("running")
    expect(row).to_contain_text("RSI dip")
    row.get_by_role("button", name="Stop").click()
    expect(page.get_by_role("heading", name="Stop Browser bot?")).to_be_visible()
    page.get_by_role("button", name="Stop Browser bot").click()
    expect(page.get_by_role("heading", name="Browser bot")).to_contain_text("stopped")
    trader.refresh_from_db()
    assert trader.status == "stopped"
