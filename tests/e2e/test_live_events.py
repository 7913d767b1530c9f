"""Live events reach an open page: a page on a real daphne receives, within 2 s, a change committed by
another process (as the worker makes them), and `tradeops:event` fires for the page's scripts."""

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.factories import UserFactory

pytestmark = pytest.mark.e2e

COLLECT_EVENTS = """() => {
  window.liveEvents = [];
  document.addEventListener("tradeops:event", (event) => window.liveEvents.push(event.detail));
}"""
ENGAGE_KILL_SWITCH = (
    "from apps.traders.services import kill_switch_engage; "
    "kill_switch_engage(user=None, reason='drill from another process')"
)


def test_an_event_from_another_process_reaches_the_open_page(
    daphne_page: Any, daphne_log_in: Any, daphne_server: Any
) -> None:
    daphne_log_in(UserFactory(role="operator"))
    daphne_page.goto("/alerts/")
    status = daphne_page.locator("#live-status")
    expect(status).to_have_attribute("data-state", "connected")
    expect(status).to_contain_text("live")
    daphne_page.evaluate(COLLECT_EVENTS)

    daphne_server.manage("shell", "-c", ENGAGE_KILL_SWITCH)
    committed = time.monotonic()
    daphne_page.wait_for_function("() => window.liveEvents.some((event) => event.type === 'kill_switch')", timeout=2000)
    assert time.monotonic() - committed < 2.0
    events = daphne_page.evaluate("window.liveEvents")
    (switch,) = [event for event in events if event["type"] == "kill_switch"]
    assert switch["data"] == {"engaged": True, "reason": "drill from another process"}
    assert isinstance(switch["id"], int) and switch["ts"]
    daphne_page.screenshot(path="var/e2e-artifacts/live-events.png")
