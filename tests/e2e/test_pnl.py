"""PnL today on a trader's page and the traders list, in a browser (the hand-worked desk of
tests/traders/pnl/helpers.py: trader A's net today is -16.224)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.factories import UserFactory
from tests.traders.pnl.helpers import build_hand_desk

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_a_viewer_reads_pnl_today_on_the_trader_pages(page: Any, log_in: Any) -> None:
    desk = build_hand_desk()
    log_in(UserFactory(role="viewer"))
    page.goto("/traders/")
    expect(page.locator(f"#trader-{desk.a.pk}")).to_contain_text("-16.22")
    expect(page.locator(f"#trader-{desk.b.pk}")).to_contain_text("4.92")
    page.get_by_role("link", name="A", exact=True).click()
    row = page.locator("#trader-pnl-today")
    expect(row).to_contain_text("-16.22")
    expect(row).to_contain_text("realised -10.00, unrealised -6.00, fees 0.22; equity 10,003.61")
