"""templates/traders/_equity_chart.html, the equity and drawdown chart the trader page and the dashboard
include (contract item 5): its points as the JSON the chart reads, and the trader it follows live."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from django.template.loader import render_to_string


@dataclass(frozen=True)
class Point:  # the fields of apps.traders.pnl_selectors.EquityPoint the chart reads
    time: datetime
    equity: Decimal
    drawdown: Decimal


POINTS = [
    Point(datetime(2024, 3, 1, 10, 0, tzinfo=UTC), Decimal("10000"), Decimal("0")),
    Point(datetime(2024, 3, 1, 10, 5, tzinfo=UTC), Decimal("9899.994999"), Decimal("-0.0100005")),
]


def script_json(html: str, script_id: str) -> list[dict]:
    found = re.search(rf'<script id="{script_id}" type="application/json">(.*?)</script>', html, re.S)
    assert found, html
    return json.loads(found.group(1))


def test_a_trader_chart_carries_its_points_to_the_cent_and_follows_that_trader() -> None:
    html = render_to_string("traders/_equity_chart.html", {"equity_points": POINTS, "trader_id": 7})
    assert 'id="equity-chart-7" data-chart="equity" data-live="equity" data-interval="300"' in html
    assert 'data-url="/api/v1/pnl/timeseries?trader_id=7" data-trader-id="7"' in html
    # 9,899.994999 to the cent is 9,899.99 (half up); the drawdown keeps its precision (a fraction).
    assert script_json(html, "equity-points-7") == [
        {"time": "2024-03-01T10:00:00Z", "equity": "10000.00", "drawdown": "0"},
        {"time": "2024-03-01T10:05:00Z", "equity": "9899.99", "drawdown": "-0.0100005"},
    ]


def test_the_desk_chart_has_no_trader_and_an_empty_series_is_valid() -> None:
    html = render_to_string("traders/_equity_chart.html", {"equity_points": [], "trader_id": None})
    assert 'id="equity-chart-desk"' in html and "data-trader-id" not in html
    assert 'data-url="/api/v1/pnl/timeseries"' in html
    assert script_json(html, "equity-points-desk") == []
