"""GET /api/v1/decisions: every role reads the log page by page, with the same filters and figures as
/logs/; a filter it cannot read is a 422 naming it, and no secret is ever in an answer."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest

from apps.exchanges.services import exchange_account_create
from tests.audit.helpers import T0, DecisionFactory
from tests.factories import TraderFactory
from tests.traders.conftest import client_for, trade_plan_for

pytestmark = pytest.mark.django_db
URL = "/api/v1/decisions"


@pytest.fixture
def log() -> dict:
    alpha, beta = TraderFactory(name="alpha"), TraderFactory(name="beta")
    plan = trade_plan_for(alpha)
    return {
        "held": DecisionFactory(trader=alpha, candle_open_time=T0),
        "win": DecisionFactory(
            trader=alpha,
            candle_open_time=T0 + timedelta(hours=1),
            action="enter_long",
            outcome="traded",
            plan=plan,
            risk_report={"decision": "approve", "quantity": "0.01", "requested_quantity": None, "checks": []},
            realised_pnl=D("12.50"),
        ),
        "loss": DecisionFactory(
            trader=beta, candle_open_time=T0 + timedelta(hours=2), outcome="traded", realised_pnl=D("-2.50")
        ),
        "rejected": DecisionFactory(trader=beta, candle_open_time=T0 + timedelta(hours=3), outcome="rejected"),
    }


def test_any_role_reads_the_log_newest_candle_first_with_what_each_decision_read(viewer, log) -> None:
    response = client_for(viewer).get(URL)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 4
    assert [item["id"] for item in body["items"]] == [log[name].pk for name in ("rejected", "loss", "win", "held")]
    win = body["items"][2]
    assert win["trader_name"] == "alpha" and win["market_symbol"] == "BTC/USDT:USDT"
    assert (win["action"], win["outcome"], win["plan_id"]) == ("enter_long", "traded", log["win"].plan_id)
    assert win["realised_pnl"] == "12.50" and win["risk_report"]["decision"] == "approve"
    # Full precision, and the missing sentiment as null.
    assert win["inputs"]["values"]["rsi_14"] == 23.9561 and win["inputs"]["sentiment"] is None


def test_filters_and_pages_use_limit_and_offset(viewer, log) -> None:
    client = client_for(viewer)
    traded = client.get(URL, {"outcome": "traded"}).json()
    assert [item["id"] for item in traded["items"]] == [log["loss"].pk, log["win"].pk]
    alpha = client.get(URL, {"trader": log["held"].trader_id, "limit": 1, "offset": 1}).json()
    assert alpha["count"] == 2 and [item["id"] for item in alpha["items"]] == [log["held"].pk]
    ranged = client.get(URL, {"since": "2024-03-01T01:00:00", "until": "2024-03-01T03:00:00Z"}).json()
    assert [item["id"] for item in ranged["items"]] == [log["loss"].pk, log["win"].pk]


def test_the_stats_are_over_the_same_filters(viewer, log) -> None:
    client = client_for(viewer)
    assert client.get(f"{URL}/stats").json() == {
        "decisions": 4,
        "trades": 2,
        "risk_rejections": 1,
        "errors": 0,
        "completed": 2,
        "wins": 1,
        "win_rate": 0.5,
        "realised_pnl": "10.00",
    }
    beta = client.get(f"{URL}/stats", {"trader": log["loss"].trader_id}).json()
    assert (beta["decisions"], beta["win_rate"], beta["realised_pnl"]) == (2, 0.0, "-2.50")


def test_one_decision_by_id_and_404_for_none(viewer, log) -> None:
    client = client_for(viewer)
    assert client.get(f"{URL}/{log['win'].pk}").json()["reason"] == "no rule fired"
    assert client.get(f"{URL}/999999").status_code == 404


def test_an_unknown_outcome_is_422_naming_the_filter_and_the_allowed_values(viewer, log) -> None:
    response = client_for(viewer).get(URL, {"outcome": "won"})

    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["query", "outcome"]
    assert error["msg"] == "Input should be 'traded', 'held', 'rejected' or 'error'"


@pytest.mark.parametrize("path", ["", "/stats"])
def test_a_range_that_ends_before_it_starts_is_422_on_until(viewer, log, path) -> None:
    response = client_for(viewer).get(f"{URL}{path}", {"since": "2024-03-02T00:00:00", "until": "2024-03-01"})

    assert response.status_code == 422
    assert response.json()["detail"] == [{"loc": ["query", "until"], "msg": "must be after since"}]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"trader": "0"}, "trader"),
        ({"market": "alpha"}, "market"),
        ({"since": "yesterday"}, "since"),
        ({"since": "0001-01-01T00:00:00+14:00"}, "since"),  # before year 1 in UTC: no 500 from the database
        ({"until": "9999-12-31T23:59:59-14:00"}, "until"),
        ({"offset": str(2**63)}, "offset"),
        ({"limit": "0"}, "limit"),
    ],
)
def test_other_bad_filters_are_422_naming_them(viewer, log, query, field) -> None:
    response = client_for(viewer).get(URL, query)
    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [["query", field]]


def test_a_login_and_a_role_are_needed(outsider, log) -> None:
    assert client_for(None).get(URL).status_code == 401
    assert client_for(outsider).get(URL).status_code == 403


def test_no_secret_is_in_an_answer(viewer) -> None:
    account = exchange_account_create(
        name="Keyed", exchange="binanceusdm", secrets={"api_key": "k" * 16 + "clear", "api_secret": "s" * 16 + "clear"}
    )
    DecisionFactory(trader=TraderFactory(account=account), outcome="traded")
    client = client_for(viewer)
    for path in (URL, f"{URL}/stats"):
        text = client.get(path).content.decode()
        assert "clear" not in text and "k" * 16 not in text and "s" * 16 not in text
