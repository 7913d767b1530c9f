"""Alert channels in a browser: an admin adds a webhook channel from the alerts pages and sends a
test notification to a local receiver on 127.0.0.1; the URL is never on the page again."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from apps.traders.models import AlertChannel
from tests.e2e.helpers import duplicate_ids
from tests.factories import UserFactory
from tests.traders.alerts.receiver import receiver_running

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_an_admin_adds_a_channel_and_sends_a_test_notification(page: Any, log_in: Any) -> None:
    log_in(UserFactory(role="admin"))
    with receiver_running() as receiver:
        url = receiver.url("ok", "e2e-hook-s3cret")
        page.goto("/")
        page.locator("nav.top").get_by_role("link", name="Alerts").click()
        page.get_by_role("link", name="Channels").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Alert channels")
        page.get_by_role("button", name="Add a channel").click()

        page.get_by_label("Name").fill("Desk webhook")
        page.get_by_label("Notification URL").fill(url)
        page.get_by_label("Lowest level sent").select_option("critical")
        page.get_by_label("Global kill switch").check()
        page.get_by_role("button", name="Save").click()

        row = page.locator("#alert-channels tbody tr")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("Desk webhook")
        expect(row).to_contain_text("Global kill switch")
        expect(row).to_contain_text(f"fingerprint {AlertChannel.objects.get().url.fingerprint}")
        row.get_by_role("button", name="Send test notification").click()
        expect(page.locator("#test-result")).to_have_text("Test notification sent to Desk webhook.")
        page.screenshot(path="/tmp/e2e_alert_channels.png", full_page=True)

        assert [body["title"] for body in receiver.messages()] == ["TradeOps test notification"]
        assert "e2e-hook-s3cret" not in page.content() and str(receiver.port) not in page.content()
        assert duplicate_ids(page) == []

        page.get_by_role("link", name="Desk webhook").click()
        expect(page.get_by_label("Notification URL")).to_have_value("")
        assert "e2e-hook-s3cret" not in page.content()

    page.goto("/alerts/rules/")
    expect(page.locator("#rule-daily_loss")).to_contain_text("percent of the UTC day's starting equity lost")
    page.screenshot(path="/tmp/e2e_alert_rules.png", full_page=True)
