"""What a live event changes on an open page: the HTML fragments (htmx out-of-band swaps) the
websocket consumer sends with each event.

Each fragment is a whole dashboard panel (apps.dashboard.panels) carrying `hx-swap-oob="true"` and the
panel's stable id; a page without that id (any page but the dashboard) must skip it rather than swap
it (htmx logs an error for an out-of-band element with no target). Other pages follow events through
the `tradeops:event` DOM event that static/js/live.js dispatches (static/js/live_refresh.js).

The consumer calls `event_html` once per (event, role) and sends the text to every socket of that
role. The panels' data does not depend on the role, so it is read once per event (the last few events
are remembered) and only rendered per role. The fragments carry no CSRF token: one text goes to many
users, so the buttons in them post with the token the page's <body> sends in hx-headers.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from apps.core.events import EventType
from apps.dashboard.panels import panel_data, panel_html

# The panels each event type touches. Candles, news and backtests show on other pages only.
EVENT_PANELS: dict[str, tuple[str, ...]] = {
    EventType.PLAN: ("positions", "orders", "executions", "traders"),
    EventType.FILL: ("positions", "orders", "executions"),
    EventType.ALERT: ("alerts",),
    EventType.HALT: ("kill_switch", "traders"),
    EventType.KILL_SWITCH: ("kill_switch", "traders"),
    EventType.SIGNAL: ("signals",),
    EventType.DECISION: ("decisions",),
    EventType.TRADER: ("traders",),
    EventType.EQUITY: ("equity", "traders"),
}
EVENTS_REMEMBERED = 16  # a few events in flight at once; one is rendered for three roles in a row


def event_html(event: dict[str, Any], *, role: str) -> str:
    """Out-of-band swap fragments for `event` ({id, type, ts, data}) as a user of `role` may see them;
    "" when the event touches no dashboard panel."""
    names = EVENT_PANELS.get(event.get("type", ""), ())
    if not names:
        return ""
    key = (event.get("id"), event.get("ts"))
    data = _event_panel_data(key, names) if None not in key else panel_data(names)
    return "".join(panel_html(name, data[name], role=role, oob=True) for name in names)


@lru_cache(maxsize=EVENTS_REMEMBERED)
def _event_panel_data(event_key: tuple[int, str], names: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """The panels' data when the event (id and time: ids of a test database may come again) was first
    rendered: read once, whatever the number of roles."""
    return panel_data(names)
