from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from apps.core.roles import user_role
from apps.dashboard.selectors import AlertBanner, alert_banner


def open_alerts(request: HttpRequest) -> dict[str, object]:
    """The open alerts for the banner on every page (templates/base.html).

    Lazy: only a page that renders the banner pays for the queries, not every HTMX partial.
    Users without a role see none: they can act on nothing and read nothing else either.
    """

    def banner() -> AlertBanner | None:
        return alert_banner() if user_role(getattr(request, "user", None)) is not None else None

    return {"alert_banner": SimpleLazyObject(banner)}


def live_events(request: HttpRequest) -> dict[str, object]:
    """`live_after`: the event id the page's live socket starts after (static/js/live.js), or None when
    the page opens no socket (not served through daphne, or a user without a role)."""
    after = getattr(request, "live_after", None)
    if after is None or user_role(getattr(request, "user", None)) is None:
        return {"live_after": None}
    return {"live_after": after}
