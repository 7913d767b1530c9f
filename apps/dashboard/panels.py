"""The dashboard's panels: each one an HTMX partial with a stable id (`panel-<name>`), served alone at
/panels/<name>/, included by the page, and re-rendered out of band when a live event touches it.

A panel's data is read once (`panel_data`) and rendered per role (`panel_html`): the same data
serves every viewer, operator and admin watching, only the buttons differ.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone

from apps.core.context_processors import role_context
from apps.dashboard import selectors
from apps.traders.selectors import kill_switch_get


@dataclass(frozen=True)
class Panel:
    name: str
    read: Callable[[], dict[str, Any]]

    @property
    def template(self) -> str:
        return f"dashboard/panels/_{self.name}.html"

    @property
    def element_id(self) -> str:
        return f"panel-{self.name.replace('_', '-')}"


def _traders() -> dict[str, Any]:
    return {"rows": selectors.dashboard_traders(now=timezone.now()), "switch": kill_switch_get()}


PANELS: dict[str, Panel] = {
    panel.name: panel
    for panel in (
        Panel("kill_switch", lambda: {"switch": kill_switch_get()}),
        Panel("traders", _traders),
        Panel("alerts", lambda: {"alerts": selectors.dashboard_alerts()}),
        Panel("positions", lambda: {"rows": selectors.dashboard_positions()}),
        Panel("orders", lambda: {"orders": selectors.dashboard_orders()}),
        Panel("executions", lambda: {"executions": selectors.dashboard_executions()}),
        Panel("equity", lambda: {"desk": selectors.dashboard_equity()}),
        Panel("signals", lambda: {"signals": selectors.dashboard_signals()}),
        Panel("decisions", lambda: {"decisions": selectors.dashboard_decisions()}),
    )
}


def panel_data(names: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """Each named panel's context, read now."""
    return {name: PANELS[name].read() for name in names}


def panel_html(
    name: str, data: dict[str, Any], *, role: str | None, csrf_token: str | None = None, oob: bool = False
) -> str:
    """One panel rendered for a user of `role`. A page passes its CSRF token (for the forms' no-script
    fallback); a live fragment, sent to many users, has none. `oob` marks it for an out-of-band swap.
    Rendered without the request: the context processors would run again for every panel."""
    context = {**data, **role_context(role), "panel": PANELS[name], "oob": oob}
    if csrf_token is not None:
        context["csrf_token"] = csrf_token
    return render_to_string(PANELS[name].template, context)
