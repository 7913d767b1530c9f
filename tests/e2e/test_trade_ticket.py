"""The trade ticket in a browser: it stays usable while its price box refreshes, previews a paper
trade, executes it, and the plan's page shows the protection placed."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import PRICE, inherited_htmx

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def expect_ticket_ready(page: Any) -> None:
    """The price box has answered and the form is still whole (it used to be replaced by that answer)."""
    expect(page.locator("#trade-price")).to_contain_text(f"Last price of BTC/USDT:USDT: {PRICE}")
    expect(page.locator("#trade-ticket > form")).to_be_visible()
    expect(page.get_by_role("button", name="Preview")).to_be_enabled()
    assert inherited_htmx(page) == []


def test_ticket_previews_and_executes_a_paper_trade_until_protection_is_placed(
    page: Any, log_in: Any, operator_user: Any, paper_trader: Any
) -> None:
    log_in(operator_user)
    page.goto("/trade/")
    expect_ticket_ready(page)

    page.get_by_label("Stop-loss", exact=True).fill("19500")
    page.get_by_label("Take-profit", exact=True).fill("21000")
    page.get_by_role("button", name="Preview").click()
    preview = page.locator("#trade-preview")
    expect(preview).to_contain_text("Previewed")
    expect(preview.locator(".plan-quantity")).to_have_text("0.2")  # 1 % of 10,000 risked over a 500 stop
    expect_ticket_ready(page)  # the ticket stays, for the next trade
    plan = paper_trader.plans.get()
    assert plan.status == "previewed" and plan.executions.count() == 0  # nothing sent yet

    preview.get_by_role("button", name="Execute").click()
    expect(page).to_have_url(f"/trade/plans/{plan.pk}/")
    expect(page.locator("#plan-timeline")).to_contain_text("Protection placed")
    plan.refresh_from_db()
    assert plan.status == "protection_placed"
    assert sorted(plan.executions.values_list("leg", flat=True)) == ["entry", "stop_loss", "take_profit"]
    assert inherited_htmx(page) == []

    # The account shows the position and the two protective orders, each with its own cancel button.
    page.get_by_role("link", name=paper_trader.account.name).click()
    expect(page.locator("#account-positions")).to_contain_text("long")
    expect(page.locator("#account-orders").get_by_role("button", name="Cancel")).to_have_count(2)
    assert inherited_htmx(page) == []
    page.go_back()

    # "New trade" from the plan opens the ticket on the plan's trader, usable as before.
    page.get_by_role("link", name="New trade").click()
    expect(page).to_have_url(f"/trade/?trader={paper_trader.pk}")
    expect_ticket_ready(page)
    expect(page.locator("select[name=trader]")).to_have_value(str(paper_trader.pk))
