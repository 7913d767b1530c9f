"""What a live event changes on an open page: the HTML fragments (htmx out-of-band swaps) the
websocket consumer sends with each event.

The dashboard issue fills this in panel by panel; until a panel has a fragment, its pages learn of
the event through the `tradeops:event` DOM event that static/js/live.js dispatches.
"""

from __future__ import annotations

from typing import Any


def event_html(event: dict[str, Any], *, role: str) -> str:
    """Out-of-band swap fragments for `event` ({id, type, ts, data}) as a user of `role` may see them."""
    return ""
