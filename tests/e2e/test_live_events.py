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
# Keeps every socket the page opens, to cut one and read the address of the next.
RECORD_SOCKETS = """(() => {
  const Native = window.WebSocket;
  window.sockets = [];
  window.WebSocket = function (url, protocols) {
    const socket = new Native(url, protocols);
    window.sockets.push(socket);
    return socket;
  };
  window.WebSocket.prototype = Native.prototype;
  Object.assign(window.WebSocket, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
})();"""
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


def test_a_reconnect_asks_for_the_events_after_the_last_one_seen(
    daphne_page: Any, daphne_log_in: Any, daphne_server: Any
) -> None:
    daphne_page.add_init_script(RECORD_SOCKETS)
    daphne_log_in(UserFactory(role="operator"))
    daphne_page.goto("/alerts/")
    status = daphne_page.locator("#live-status")
    expect(status).to_have_attribute("data-state", "connected")
    daphne_page.evaluate(COLLECT_EVENTS)
    daphne_server.manage("shell", "-c", ENGAGE_KILL_SWITCH)
    daphne_page.wait_for_function("() => window.liveEvents.length > 0")
    last_id = max(event["id"] for event in daphne_page.evaluate("window.liveEvents"))
    seen = len(daphne_page.evaluate("window.liveEvents"))

    daphne_page.evaluate("window.sockets.at(-1).close()")  # the network drops the connection
    daphne_page.wait_for_function("() => window.sockets.length === 2 && window.sockets[1].readyState === 1")
    expect(status).to_have_attribute("data-state", "connected")
    after = daphne_page.evaluate("new URL(window.sockets[1].url).searchParams.get('after')")
    assert after == str(last_id)
    daphne_page.wait_for_timeout(500)
    assert len(daphne_page.evaluate("window.liveEvents")) == seen  # nothing seen is sent again
