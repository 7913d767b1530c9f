"""Logging in, and every page an operator reaches from the navigation, in a browser."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import duplicate_ids, htmx_settled, inherited_htmx
from tests.factories import UserFactory
from tests.strategies.factories import stored_markets

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PASSWORD = "a long enough test password"


def test_log_in_leads_to_the_page_asked_for(page: Any) -> None:
    user = UserFactory(username="dana", password=PASSWORD, role="operator")
    page.goto("/trade/")
    expect(page).to_have_url("/login/?next=/trade/")

    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("paragraph")).to_contain_text("did not match")

    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url("/trade/")
    expect(page.get_by_role("heading", name="Trade ticket")).to_be_visible()
    expect(page.locator("nav.top")).to_contain_text("dana · operator")


def test_every_page_in_the_navigation_renders_without_errors(page: Any, log_in: Any, paper_trader: Any) -> None:
    log_in(UserFactory(role="admin"))
    page.goto("/")
    links = page.locator("nav.top a").evaluate_all("links => links.map(link => link.getAttribute('href'))")
    assert len(links) >= 11, links  # the overview, ten sections and the admin
    # Pages below the navigation that refresh themselves or edit with htmx.
    pages = [*links, f"/exchanges/{paper_trader.account_id}/", "/strategies/new/"]
    for path in pages:
        response = page.goto(path)
        assert response is not None and response.ok, f"{path}: HTTP {response and response.status}"
        page.wait_for_load_state("networkidle")  # requests fired on load (prices, API schema) have answered
        expect(page).to_have_title(re.compile(r"\w.* · TradeOps|administration|API", re.IGNORECASE))
        assert inherited_htmx(page) == [], path
        assert duplicate_ids(page) == [], path


@pytest.mark.parametrize(
    "path", ["/markets/", "/exchanges/", "/trade/plans/", "/traders/", "/strategies/", "/backtests/", "/signals/"]
)
def test_a_filter_swaps_the_list_in_place_and_keeps_the_address(
    page: Any, log_in: Any, paper_trader: Any, path: str
) -> None:
    log_in(UserFactory(role="viewer"))
    page.goto(path)
    choice = page.locator("form.filters select:has(option:nth-child(2))").first
    with htmx_settled(page):
        choice.select_option(index=1)
    name, value = choice.get_attribute("name"), choice.input_value()
    expect(page).to_have_url(re.compile(rf"\?(.*&)?{name}={re.escape(value)}"))  # a reload shows the same list
    assert duplicate_ids(page) == []


def test_strategy_editor_checks_the_spec_as_it_is_typed(page: Any, log_in: Any, operator_user: Any) -> None:
    stored_markets(["BTC/USDT:USDT"])  # the preset's spec names it, and a spec may only name stored markets
    log_in(operator_user)
    page.goto("/strategies/new/")
    spec = page.get_by_label("Spec (JSON)")
    with htmx_settled(page):
        spec.fill('{"indicators": [')
    expect(page.locator("#spec-errors .errorlist").first).to_be_visible()

    with htmx_settled(page):
        page.get_by_role("link", name="ema_trend").click()  # the preset replaces the form
    expect(spec).to_contain_text("ema")
    with htmx_settled(page):
        page.get_by_role("button", name="Check").click()
    expect(page.locator("#spec-errors")).to_contain_text("The spec is valid")
    assert inherited_htmx(page) == [] and duplicate_ids(page) == []
