"""/api/v1/pnl: the hand-worked desk of conftest.py as the API shows it, and the refusals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from apps.traders.tasks import take_equity_snapshots
from tests.traders.conftest import client_for

pytestmark = pytest.mark.django_db


def error_fields(response) -> list[str]:
    return [item["loc"][-1] for item in response.json()["detail"]]


def test_today_shows_money_at_two_decimals(viewer, hand_desk) -> None:
    """The figures of test_selectors.test_trader_today_by_hand, rounded half-even to cents."""
    response = client_for(viewer).get("/api/v1/pnl/today", {"trader_id": hand_desk.a.pk})
    assert response.status_code == 200, response.content
    assert response.json() == {
        "realised": "-10.00",
        "unrealised": "-6.00",
        "fees": "0.22",
        "net": "-16.22",
        "equity": "10003.61",
    }


def test_summary_of_a_trader(viewer, hand_desk) -> None:
    body = client_for(viewer).get("/api/v1/pnl/summary", {"trader_id": hand_desk.a.pk}).json()
    assert (body["realised"], body["fees"], body["net"], body["trade_count"]) == ("10.00", "0.39", "3.61", 2)
    assert body["win_rate"] == 0.5
    assert body["profit_factor"] == pytest.approx(19.832 / 10.164)
    assert body["max_drawdown"] == 0.0  # no snapshot yet


def test_timeseries_after_the_schedule(viewer, hand_desk) -> None:
    take_equity_snapshots()
    response = client_for(viewer).get("/api/v1/pnl/timeseries", {"account_id": hand_desk.account.pk, "interval": "1m"})
    assert response.status_code == 200, response.content
    [point] = response.json()
    assert (point["equity"], point["drawdown"]) == ("10008.53", 0.0)  # 10,008.526


@pytest.mark.parametrize(
    ("url", "query", "field"),
    [
        ("/api/v1/pnl/today", {"trader_id": 1, "account_id": 1}, "account_id"),
        ("/api/v1/pnl/summary", {"start": "2026-01-02T00:00:00Z", "end": "2026-01-01T00:00:00Z"}, "end"),
        ("/api/v1/pnl/timeseries", {"interval": "2m"}, "interval"),
        ("/api/v1/pnl/timeseries", {"start": "2020-01-01T00:00:00Z", "interval": "1m"}, "interval"),
        ("/api/v1/pnl/summary", {"trader_id": 0}, "trader_id"),
    ],
)
def test_bad_parameters_are_named(viewer, url, query, field) -> None:
    response = client_for(viewer).get(url, query)
    assert response.status_code == 422, response.content
    assert error_fields(response) == [field]


def test_too_many_points_says_how_many(viewer) -> None:
    start = (timezone.now() - timedelta(days=10)).isoformat()
    response = client_for(viewer).get("/api/v1/pnl/timeseries", {"start": start, "interval": "1m"})
    assert "at most 2000" in response.json()["detail"][0]["msg"]


def test_unknown_trader_or_account_is_404(viewer) -> None:
    client = client_for(viewer)
    assert client.get("/api/v1/pnl/today", {"trader_id": 999}).json() == {"detail": "Trader 999 not found."}
    assert client.get("/api/v1/pnl/summary", {"account_id": 999}).status_code == 404


def test_a_login_is_needed() -> None:
    assert Client().get("/api/v1/pnl/today").status_code == 401
