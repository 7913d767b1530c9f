"""event_html: the out-of-band fragments the websocket consumer sends with each event, re-rendering
the dashboard panels the event touches, for each role, with the data read once per event."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.core.events import EventType, event_message, publish
from apps.dashboard.live import EVENT_PANELS, event_html
from apps.traders.services import kill_switch_engage
from tests.dashboard.conftest import alert
from tests.factories import TraderFactory

pytestmark = pytest.mark.django_db


def event(event_type: EventType, **data: Any) -> dict[str, Any]:
    return event_message(publish(event_type, data))


def swapped_ids(html: str) -> list[str]:
    """The ids of the top-level elements marked for an out-of-band swap, in order."""
    return re.findall(r'<section id="([\w-]+)"[^>]*hx-swap-oob="true"', html)


@pytest.mark.parametrize(
    ("event_type", "panels"),
    [
        (EventType.FILL, ["panel-positions", "panel-orders", "panel-executions"]),
        (EventType.PLAN, ["panel-positions", "panel-orders", "panel-executions", "panel-traders"]),
        (EventType.ALERT, ["panel-alerts"]),
        (EventType.HALT, ["panel-kill-switch", "panel-traders"]),
        (EventType.KILL_SWITCH, ["panel-kill-switch", "panel-traders"]),
        (EventType.SIGNAL, ["panel-signals"]),
        (EventType.DECISION, ["panel-decisions"]),
        (EventType.TRADER, ["panel-traders"]),
        (EventType.EQUITY, ["panel-equity", "panel-traders"]),
    ],
)
def test_each_event_type_re_renders_the_panels_it_touches(event_type: EventType, panels: list[str]) -> None:
    html = event_html(event(event_type), role="viewer")

    assert swapped_ids(html) == panels


@pytest.mark.parametrize("event_type", [EventType.CANDLE, EventType.NEWS, EventType.BACKTEST])
def test_events_no_panel_shows_send_nothing(event_type: EventType) -> None:
    assert event_html(event(event_type), role="operator") == ""


def test_every_event_type_is_either_a_panels_or_none() -> None:
    shown_elsewhere = {EventType.CANDLE, EventType.NEWS, EventType.BACKTEST}
    assert set(EVENT_PANELS) | shown_elsewhere == set(EventType)


def test_the_fragment_shows_the_new_state_with_the_roles_buttons_and_no_csrf_token(operator) -> None:
    TraderFactory(name="Paper desk")
    kill_switch_engage(user=operator, reason="exchange outage")
    engaged = event(EventType.KILL_SWITCH, engaged=True, reason="exchange outage")

    for_operator = event_html(engaged, role="operator")
    for_viewer = event_html(engaged, role="viewer")

    assert "halted (kill switch)" in for_operator and "halted (kill switch)" in for_viewer
    assert "exchange outage" in for_viewer
    assert ">Release</button>" in for_operator and ">Release</button>" not in for_viewer
    assert "csrfmiddlewaretoken" not in for_operator  # one text goes to many users


def test_an_alert_fragment_offers_operators_the_ack_button() -> None:
    raised = alert("critical", "stop-loss refused")
    message = event(EventType.ALERT, alert_id=raised.pk, level="critical")

    assert f"/alerts/{raised.pk}/acknowledge/" in event_html(message, role="operator")
    assert f"/alerts/{raised.pk}/acknowledge/" not in event_html(message, role="viewer")


def test_the_panels_are_read_once_per_event_whatever_the_number_of_roles() -> None:
    TraderFactory(name="Paper desk", heartbeat_at=timezone.now(), status="running")
    message = event(EventType.TRADER, trader_id=1, status="running")

    with CaptureQueriesContext(connection) as first:
        event_html(message, role="viewer")
    with CaptureQueriesContext(connection) as others:
        event_html(message, role="operator")
        event_html(message, role="admin")

    assert len(first) > 0 and len(others) == 0
