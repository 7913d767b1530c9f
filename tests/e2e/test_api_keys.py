"""API keys in a browser: an operator creates a key on the page and sees it once, a plain HTTP client
uses it against the live server, and the operator revokes it after confirming; the key then gets 401."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from apps.core.models import ApiKey
from tests.factories import TraderFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_an_operator_creates_uses_and_revokes_a_key(page: Any, log_in: Any, live_server: Any, operator_user) -> None:
    TraderFactory(name="Night desk")
    log_in(operator_user)
    page.goto("/")
    page.locator("nav.top").get_by_role("link", name="API keys").click()
    expect(page).to_have_title("API keys · TradeOps")
    expect(page.locator("#api-key-table")).to_contain_text("No API keys yet")
    # An operator may give a key up to the trade scope, never admin.
    assert page.locator("#id_scope option").all_inner_texts() == ["read (viewer)", "trade (operator)"]

    page.get_by_label("Name").fill("rebalancer")
    page.get_by_label("Scope").select_option("read")
    page.get_by_role("button", name="Create key").click()
    expect(page.locator("#new-key")).to_contain_text("shown this once")
    key = page.locator("#new-key-value").inner_text().strip()
    assert key.startswith("tops_")
    page.screenshot(path="/tmp/e2e_api_key_created.png", full_page=True)

    api = httpx.Client(base_url=live_server.url, headers={"Authorization": f"Bearer {key}"}, timeout=10)
    answer = api.get("/api/v1/traders")
    assert answer.status_code == 200 and "Night desk" in answer.text
    assert api.post("/api/v1/kill-switch/engage", json={"reason": "read key"}).status_code == 403

    page.goto("/api-keys/")
    expect(page.locator("#new-key")).to_have_count(0)
    assert key not in page.content()
    row = page.locator(f"#api-key-{ApiKey.objects.get().pk}")
    expect(row).to_contain_text("active")
    expect(row).to_contain_text("from 127.0.0.1")

    row.get_by_role("link", name="Revoke").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text('Revoke API key "rebalancer"?')
    page.get_by_role("button", name="Yes, revoke").click()
    expect(page.locator(f"#api-key-{ApiKey.objects.get().pk}")).to_contain_text("revoked")
    page.screenshot(path="/tmp/e2e_api_key_revoked.png", full_page=True)

    assert api.get("/api/v1/traders").status_code == 401


def test_repeated_wrong_passwords_lead_to_a_lockout_page_that_says_when(
    page: Any, settings, operator_user, request: pytest.FixtureRequest
) -> None:
    settings.AXES_FAILURE_LIMIT = 2
    page.goto("/login/")
    for _ in range(2):
        page.get_by_label("Username").fill(operator_user.username)
        page.get_by_label("Password").fill("wrong password")
        page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Too many failed logins")
    expect(page.locator("main")).to_contain_text("Try again after")
    expect(page.locator("main")).to_contain_text("UTC (in 15 minutes)")
    page.screenshot(path="/tmp/e2e_lockout.png", full_page=True)
    # Chromium reports the lockout's status (429) as a console error: expected here, and only here.
    log = request.node.e2e_log
    locked = [line for line in log.problems if "status of 429 (Too Many Requests)" in line]
    assert len(locked) == 1
    log.problems.remove(locked[0])
