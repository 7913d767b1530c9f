"""Template tags of the chart partials (templates/traders/_equity_chart.html)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template
from django.utils.html import json_script
from django.utils.safestring import SafeString

from apps.core.numbers import money

register = template.Library()


def _field(point: Any, name: str) -> Any:
    return point[name] if isinstance(point, dict) else getattr(point, name)


@register.simple_tag
def equity_points_script(points: Iterable[Any] | None, key: object) -> SafeString:
    """The equity points (EquityPoint rows or dicts with time, equity, drawdown) as the JSON the chart
    reads, in <script id="equity-points-<key>">: equity to the cent, drawdown as the fraction."""
    rows = [
        {
            "time": _field(point, "time"),
            "equity": money(_field(point, "equity")).replace(",", ""),
            "drawdown": str(_field(point, "drawdown")),
        }
        for point in points or ()
    ]
    return json_script(rows, f"equity-points-{key}")
