"""Four-eyes in a browser: admin A turns a trader live (it waits), admin B approves it on /approvals/."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from apps.traders.models import ChangeRequest, Trader
from tests.e2e.conftest import ARTIFACTS, TIMEOUT_MS
from tests.factories import ExchangeAccountFactory, RiskProfileFactory, TraderFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _second_tab(browser: Any, live_server: Any, user: Any) -> Any:
    """Another browser context (its own cookies), logged in as `user`."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])
    return context.new_page()


def test_a_trader_goes_live_only_once_a_second_admin_approves(
    page: Any, browser: Any, live_server: Any, log_in: Any
) -> None:
    alice = UserFactory(username="alice", role="admin")
    bob = UserFactory(username="bob", role="admin")
    account = ExchangeAccountFactory(name="Real money", mode="live")
    trader = TraderFactory(name="Live desk", account=account, risk_profile=RiskProfileFactory(name="Standard"))

    # Admin A ticks "live" on the trader's form.
    log_in(alice)
    page.goto(f"/traders/{trader.pk}/edit/")
    expect(page.get_by_text("waits for a second admin's approval")).to_be_visible()
    page.get_by_label("Live").check()
    page.get_by_role("button", name="Save").click()
    waiting = page.locator(".waiting-approval")
    expect(waiting).to_contain_text("Waiting for a second admin")
    expect(waiting).to_contain_text("live no → yes")
    assert Trader.objects.get(pk=trader.pk).live is False
    request = ChangeRequest.objects.get(status="pending")

    # A sees the request but no approve button: it is hers.
    page.goto("/approvals/")
    mine = page.locator(f"#change-request-{request.pk}")
    expect(mine).to_contain_text("Your request: a second admin decides it.")
    expect(mine.get_by_role("button", name="Approve…")).to_have_count(0)

    # Admin B, in another browser context, sees the badge and approves.
    tab = _second_tab(browser, live_server, bob)
    try:
        tab.goto("/")
        expect(tab.locator("#approvals-badge")).to_have_text("1")
        tab.get_by_role("link", name="Approvals").click()
        row = tab.locator(f"#change-request-{request.pk}")
        expect(row).to_contain_text("Trader goes live")
        expect(row).to_contain_text("requested by alice")
        expect(row.locator("table")).to_contain_text("live")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=ARTIFACTS / "approvals_pending.png", full_page=True)
        row.get_by_role("button", name="Approve…").click()
        expect(tab.locator("h1")).to_have_text(f"Approve change request #{request.pk}?")
        tab.get_by_label("Reason").fill("keys checked with the exchange")
        tab.get_by_role("button", name=f"Approve #{request.pk}").click()
        expect(tab.locator("#approval-history")).to_contain_text("approved")
        expect(tab.locator("#approval-history")).to_contain_text("keys checked with the exchange")
        expect(tab.locator("#pending-approvals")).to_contain_text("Nothing waits for approval.")
        expect(tab.locator("#approvals-badge")).to_have_count(0)
        tab.screenshot(path=ARTIFACTS / "approvals_approved.png", full_page=True)
    finally:
        tab.context.close()

    assert Trader.objects.get(pk=trader.pk).live is True
    decided = ChangeRequest.objects.get(pk=request.pk)
    assert (decided.status, decided.requested_by, decided.decided_by) == ("approved", alice, bob)

    # A's trader page no longer says it waits.
    page.goto(f"/traders/{trader.pk}/")
    expect(page.locator(".waiting-approval")).to_have_count(0)
