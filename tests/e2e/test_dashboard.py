"""The dashboard (/) in a browser: logging in opens it on the demo desk; operators acknowledge alerts
and engage the kill switch from it, and the next entry is refused."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from apps.demo.services import demo_fixtures_load
from apps.market.demo import demo_markets_ensure
from apps.traders.selectors import kill_switch_get
from apps.traders.services.plans import PlanInput, trade_plan_preview
from tests.dashboard.conftest import alert
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.helpers import duplicate_ids, inherited_htmx
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PASSWORD = "a long enough test password"
KILL_SWITCH_QUESTION = "Engage the kill switch? Every trader stops opening positions until someone releases it."


def screenshot(page: Any, name: str) -> Path:
    """A full-page picture kept under var/e2e-artifacts/ for a person to look at."""
    path = ARTIFACTS / "dashboard" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=path, full_page=True)
    return path


def test_logging_in_opens_the_dashboard_on_the_demo_desk(page: Any) -> None:
    demo_markets_ensure()
    demo_fixtures_load()  # what `make run` loads: the paper trader "Paper desk", running, and a stopped AI one
    UserFactory(username="dana", password=PASSWORD, role="viewer")

    page.goto("/")
    page.get_by_label("Username").fill("dana")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    expect(page).to_have_url("/")
    expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()
    traders = page.locator("#panel-traders")
    for name, status in (("Paper desk", "running"), ("AI paper desk", "stopped")):
        row = traders.locator("tr", has=page.get_by_role("link", name=name, exact=True))
        expect(row).to_contain_text(status)
    for panel in ("#panel-positions", "#panel-orders", "#panel-executions", "#panel-signals", "#panel-decisions"):
        expect(page.locator(panel)).to_be_visible()
    expect(page.locator("#panel-kill-switch")).to_contain_text("released")
    expect(page.locator("#panel-kill-switch").get_by_role("button")).to_have_count(0)  # a viewer reads only
    assert inherited_htmx(page) == [] and duplicate_ids(page) == []
    screenshot(page, "demo_desk")

    traders.get_by_role("link", name="Paper desk", exact=True).click()
    expect(page.get_by_role("heading", name="Paper desk")).to_be_visible()


def test_an_operator_acknowledges_an_alert_on_the_dashboard(page: Any, log_in: Any, operator_user: Any) -> None:
    kept = alert("critical", "stop-loss refused by the exchange")
    acknowledged = alert("warning", "position drift on BTC")
    log_in(operator_user)
    page.goto("/")
    panel = page.locator("#panel-alerts")
    expect(panel).to_contain_text("2 ·")

    panel.locator(f"#dashboard-alert-{acknowledged.pk}").get_by_role("button", name="Acknowledge").click()

    expect(panel.locator(f"#dashboard-alert-{acknowledged.pk}")).to_have_count(0)
    expect(panel.locator(f"#dashboard-alert-{kept.pk}")).to_be_visible()
    expect(panel).to_contain_text("1 ·")
    acknowledged.refresh_from_db()
    assert acknowledged.acknowledged_by == operator_user
    assert inherited_htmx(page) == [] and duplicate_ids(page) == []


def test_the_kill_switch_pressed_on_the_dashboard_blocks_the_next_entry(
    page: Any, log_in: Any, operator_user: Any, paper_trader: Any
) -> None:
    questions: list[str] = []
    page.on("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    log_in(operator_user)
    page.goto("/")
    switch = page.locator("#panel-kill-switch")
    trader_row = page.locator(f"#dashboard-trader-{paper_trader.pk}")
    expect(trader_row).not_to_contain_text("halted")

    switch.get_by_label("Reason").fill("exchange incident")
    switch.get_by_role("button", name="Engage kill switch").click()

    expect(switch).to_contain_text("engaged")
    expect(switch).to_contain_text(f"Engaged by {operator_user.username}")
    expect(trader_row).to_contain_text("halted (kill switch)")  # the traders panel follows without a reload
    assert questions == [KILL_SWITCH_QUESTION]
    assert kill_switch_get().engaged
    screenshot(page, "kill_switch_engaged")

    entry = PlanInput(
        trader_id=paper_trader.pk,
        symbol="BTC/USDT:USDT",
        side="buy",
        stop_loss=Decimal(19500),
        take_profit=Decimal(21000),
    )
    refused = trade_plan_preview(plan=entry, user=operator_user)
    assert refused.status == "rejected", refused.status_reason
