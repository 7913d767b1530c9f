"""The global kill switch, engaged and released from /risk/ in a browser."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from apps.traders.selectors import kill_switch_get
from tests.traders.approval_helpers import approve_pending

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_kill_switch_from_the_risk_page_halts_every_trader_until_released(
    page: Any, log_in: Any, operator_user: Any, paper_trader: Any
) -> None:
    questions: list[str] = []

    def accept(dialog: Any) -> None:
        questions.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    log_in(operator_user)
    page.goto("/risk/")
    switch = page.locator("#kill-switch")
    trader_row = page.locator(f"#trader-row-{paper_trader.pk}")
    expect(switch).to_contain_text("released")
    expect(trader_row).to_contain_text("trading")

    switch.get_by_label("Reason").fill("exchange incident")
    switch.get_by_role("button", name="Engage kill switch").click()
    expect(switch).to_contain_text("engaged")
    expect(switch).to_contain_text(f"Engaged by {operator_user.username}")
    expect(trader_row).to_contain_text("halted (kill switch)")  # the table follows without a reload
    expect(page.locator("#halt-events")).to_contain_text("exchange incident")
    assert questions == ["Engage the kill switch? Every trader stops opening positions until someone releases it."]
    assert kill_switch_get().engaged

    switch.get_by_label("Reason").fill("incident over")
    switch.get_by_role("button", name="Release").click()
    expect(switch).to_contain_text("Waiting for a second admin")  # four-eyes
    assert kill_switch_get().engaged
    approve_pending()
    page.reload()
    expect(switch).to_contain_text("Released by")
    expect(trader_row).to_contain_text("trading")
    assert not kill_switch_get().engaged
