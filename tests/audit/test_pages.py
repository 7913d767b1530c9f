"""/logs/: the decision log page and a decision's page, and the read-only admin."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest

from apps.audit.models import DecisionLog
from apps.traders.models import TradePlan
from tests.audit.helpers import T0, DecisionFactory, traded_round_trip
from tests.factories import TraderFactory
from tests.traders.conftest import client_for

pytestmark = pytest.mark.django_db
URL = "/logs/"


@pytest.fixture
def round_trip(operator, django_capture_on_commit_callbacks):
    def run(cycle):
        with django_capture_on_commit_callbacks(execute=True):
            return cycle()

    return traded_round_trip(operator, run)


def rows(response) -> list[DecisionLog]:
    return list(response.context["page"])


def test_the_log_shows_real_decisions_with_figures_inputs_plans_and_pnl(viewer, round_trip) -> None:
    response = client_for(viewer).get(URL)

    assert response.status_code == 200
    page = response.content.decode()
    plan = TradePlan.objects.get(trader=round_trip)
    entry = DecisionLog.objects.get(action="enter_long")
    stats = response.context["stats"]
    assert (stats.decisions, stats.trades, stats.wins, stats.completed) == (5, 2, 1, 1)
    assert '<td class="num">100.00 % <small>(1 of 1 completed)</small></td>' in page
    assert [d.action for d in rows(response)] == ["hold", "exit", "hold", "enter_long", "hold"]
    assert f'href="/trade/plans/{plan.pk}/"' in page and f'href="/logs/{entry.pk}/"' in page
    assert "Enter long" in page and '<span class="badge outcome-traded">Traded</span>' in page
    assert '<td class="num">18900</td>' in page  # the entry's price at the market's tick
    assert "sentiment missing" in page
    assert f'<td class="num">{entry.realised_pnl:,.2f}</td>' in page
    assert 'href="/logs/">Decisions</a>' in page  # the navigation link


def test_indicator_values_are_at_two_decimals_and_a_missing_one_says_so(viewer) -> None:
    DecisionFactory(inputs={"price": "20995.83", "values": {"close": 20995.83, "rsi_14": 23.9561, "sma_50": None}})
    page = client_for(viewer).get(URL).content.decode()
    assert "rsi_14 23.96 · sma_50 missing · sentiment missing" in page
    assert '<td class="num">20995.8</td>' in page


def test_filters_narrow_the_list_and_the_figures_and_keep_their_values(viewer) -> None:
    alpha = TraderFactory(name="alpha")
    DecisionFactory(trader=alpha, outcome="held", candle_open_time=T0)
    kept = DecisionFactory(trader=alpha, outcome="rejected", candle_open_time=T0 + timedelta(hours=1))
    DecisionFactory(outcome="rejected", candle_open_time=T0 + timedelta(hours=2))  # another trader
    query = {"trader": alpha.pk, "outcome": "rejected", "since": "2024-03-01T00:30", "until": "2024-03-02T00:00"}

    response = client_for(viewer).get(URL, query)

    page = response.content.decode()
    assert rows(response) == [kept]
    assert response.context["stats"].risk_rejections == 1
    assert f'<option value="{alpha.pk}" selected>alpha</option>' in page
    assert '<option value="rejected" selected>Rejected by risk</option>' in page
    assert 'value="2024-03-01T00:30"' in page and 'value="2024-03-02T00:00"' in page


def test_pages_of_fifty_newest_first_keep_the_filters(viewer) -> None:
    DecisionFactory.create_batch(51, outcome="held")
    client = client_for(viewer)
    first = client.get(URL, {"outcome": "held"})
    assert len(rows(first)) == 50
    assert 'href="?outcome=held&amp;page=2"' in first.content.decode()
    second = client.get(URL, {"outcome": "held", "page": 2})
    assert rows(second) == [DecisionLog.objects.order_by("candle_open_time").first()]  # the oldest, last


def test_a_missing_value_recorded_as_nan_reads_as_missing() -> None:
    decision = DecisionLog(inputs={"values": {"close": 1.0, "rsi_14": float("nan")}, "sentiment": float("nan")})
    assert decision.indicator_values() == [("rsi_14", None)]
    assert decision.sentiment() is None
    assert decision.recorded_inputs()["values"] == {"close": 1.0, "rsi_14": None}


def test_an_empty_log_says_how_decisions_arrive(viewer) -> None:
    page = client_for(viewer).get(URL).content.decode()
    assert "No decisions match. A running trader records one on each closed candle of its markets." in page
    assert '<td class="num">— <small>(0 of 0 completed)</small></td>' in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"outcome": "won"}, "Outcome: Select a valid choice. won is not one of the available choices."),
        ({"trader": "alpha"}, "Trader: Select a valid choice. That choice is not one of the available choices."),
        ({"market": "999999"}, "Market: Select a valid choice."),
        ({"since": "yesterday"}, "Candle from (UTC): Enter a valid date/time."),
        (
            {"since": "0001-01-01T00:00+14:00"},
            "Candle from (UTC): This time is outside the years 1 to 9999 once moved to UTC.",
        ),
        (
            {"since": "2024-03-02T00:00", "until": "2024-03-01T00:00"},
            "to (UTC): The end of the range must be after its start.",
        ),
    ],
)
def test_a_filter_that_cannot_be_read_is_named_and_nothing_is_listed(viewer, query, message) -> None:
    DecisionFactory()
    response = client_for(viewer).get(URL, query)

    assert response.status_code == 200
    page = response.content.decode()
    assert "These filters cannot be read, so no decisions are shown" in page and message in page
    assert 'id="decision-table"' not in page


def test_a_filter_change_from_htmx_swaps_only_the_results(viewer) -> None:
    DecisionFactory(outcome="error", error="exchange unreachable")
    response = client_for(viewer).get(URL, {"outcome": "error"}, headers={"HX-Request": "true"})
    page = response.content.decode()
    assert page.startswith('<div id="decision-results"') and "<form" not in page
    # The first page refreshes itself with the same filters when a decision is recorded.
    assert 'hx-get="/logs/?outcome=error" hx-trigger="live-refresh" data-live-on="decision"' in page
    assert "exchange unreachable" in page


def test_a_decisions_page_shows_every_input_the_risk_report_and_the_error(viewer) -> None:
    decision = DecisionFactory(
        outcome="rejected",
        action="enter_long",
        reason="close below 19000",
        inputs={
            "price": "18900",
            "values": {"close": 18900.0, "rsi_2": 12.3456, "atr_14": None},
            "signal": "long",
            "sentiment": None,
            "position": None,
            "busy": "",
            "equity": "10000.5",
            "halt": None,
        },
        risk_report={
            "decision": "reject",
            "quantity": "0",
            "requested_quantity": "0.0523",
            "checks": [
                {"rule": "max_order_notional", "value": "988", "limit": "500", "verdict": "fail", "message": "too big"}
            ],
        },
        error="",
    )
    page = client_for(viewer).get(f"/logs/{decision.pk}/").content.decode()
    assert '<span class="badge outcome-rejected">Rejected by risk</span>' in page
    for shown in (
        '<code>rsi_2</code></th><td class="num">12.35',
        '<code>atr_14</code></th><td class="num">missing',
        '<th>Sentiment</th><td class="num">missing',
        "10,000.50",
        "(requested 0.052)",
        '<span class="badge verdict-fail">fail</span>',
        "too big",
        '<td id="decision-error">none',
    ):
        assert shown in page, shown


def test_a_failed_decision_shows_its_error(viewer) -> None:
    decision = DecisionFactory(outcome="error", reason="the cycle failed", error="ExchangeUnavailable: 503")
    page = client_for(viewer).get(f"/logs/{decision.pk}/").content.decode()
    assert "ExchangeUnavailable: 503" in page and "No risk report: this decision made no plan." in page
    assert client_for(viewer).get("/logs/999999/").status_code == 404


def test_pages_need_a_role(outsider) -> None:
    assert client_for(outsider).get(URL).status_code == 403
    assert client_for(None).get(URL).status_code == 302


# --- the admin -----------------------------------------------------------------------------------------


def test_the_admin_lists_filters_and_searches_decisions_and_changes_none(admin_user) -> None:
    alpha = TraderFactory(name="alpha")
    decision = DecisionFactory(trader=alpha, outcome="traded", reason="RSI below 30", realised_pnl=D("1234.5"))
    DecisionFactory(outcome="held")
    client = client_for(admin_user)
    base = "/admin/audit/decisionlog/"

    listed = client.get(base, {"outcome__exact": "traded", "mode": "rules", "trader__id__exact": alpha.pk})
    assert list(listed.context["cl"].result_list) == [decision]
    assert "1,234.50" in listed.content.decode()
    for term in ("alpha", "BTC/USDT", "below 30"):
        assert decision in client.get(base, {"q": term}).context["cl"].result_list, term
    assert client.get(f"{base}add/").status_code == 403
    change = client.get(f"{base}{decision.pk}/change/")
    assert change.status_code == 200 and 'name="_save"' not in change.content.decode()
    assert client.get(f"{base}{decision.pk}/delete/").status_code == 403
    client.post(f"{base}{decision.pk}/change/", {"outcome": "error", "reason": "edited"})
    decision.refresh_from_db()
    assert (decision.outcome, decision.reason) == ("traded", "RSI below 30")
