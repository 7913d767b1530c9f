"""The chain pages: the index by time with its range filter and pages, a chain's timeline linked from
where plans and decisions are listed, and the what-if form (operators) beside the original."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.audit.models import DecisionLog
from apps.traders import chain_views
from apps.traders.models import TradePlan
from tests.audit.helpers import DecisionFactory
from tests.factories import RiskProfileFactory
from tests.traders.conftest import client_for

pytestmark = pytest.mark.django_db


def test_the_timeline_shows_each_step_formatted_for_a_person(round_trip, viewer) -> None:
    plan = TradePlan.objects.get()
    page = client_for(viewer).get(f"/chains/plan/{plan.pk}/").content.decode()
    for kind in ("candle", "indicators", "signal", "decision", "plan", "risk", "order", "fill", "pnl"):
        assert f'data-kind="{kind}"' in page
    assert "close 18900" in page
    assert "realised 133.94" in page  # money at two decimals (the builder's test checks the figure)
    assert "0.052000000000" not in page  # amounts at the market's step
    assert 'id="what-if-form"' not in page and "needs the operator role" in page


def test_plans_and_decisions_link_to_their_chain(round_trip, viewer) -> None:
    plan = TradePlan.objects.get()
    decision = DecisionLog.objects.get(action="enter_long")
    client = client_for(viewer)
    assert f'href="/chains/plan/{plan.pk}/"' in client.get(f"/trade/plans/{plan.pk}/").content.decode()
    assert f'href="/chains/plan/{plan.pk}/"' in client.get("/trade/plans/").content.decode()
    assert f'href="/chains/decision/{decision.pk}/"' in client.get("/logs/").content.decode()
    assert f'href="/chains/decision/{decision.pk}/"' in client.get(f"/logs/{decision.pk}/").content.decode()
    assert f'href="/chains/decision/{decision.pk}/"' in client.get(f"/traders/{round_trip.pk}/").content.decode()


def test_the_index_filters_by_time_and_pages(db, viewer, monkeypatch) -> None:
    now = timezone.now()
    made = [DecisionFactory(decided_at=now - timedelta(hours=hours)) for hours in range(5)]
    monkeypatch.setattr(chain_views, "PAGE_SIZE", 2)
    client = client_for(viewer)
    first = client.get("/chains/").content.decode()
    assert "page 1 of 3 (5 chains)" in first
    assert f"/chains/decision/{made[0].pk}/" in first and f"/chains/decision/{made[2].pk}/" not in first
    start = (now - timedelta(hours=2, minutes=30)).strftime("%Y-%m-%dT%H:%M")
    end = (now - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M")
    narrowed = client.get("/chains/", {"start": start, "end": end}).content.decode()
    assert [f"/chains/decision/{d.pk}/" in narrowed for d in made] == [False, True, True, False, False]
    backwards = client.get("/chains/", {"start": end, "end": start}).content.decode()
    assert "The end of the range must be after its start." in backwards and 'id="chain-table"' not in backwards


def test_an_unknown_chain_is_a_404(db, viewer) -> None:
    client = client_for(viewer)
    assert client.get("/chains/plan/999/").status_code == 404
    assert client.get("/chains/trade/1/").status_code == 404


def test_an_operator_compares_a_stricter_profile_in_place(round_trip, operator, viewer) -> None:
    plan = TradePlan.objects.get()
    strict = RiskProfileFactory(name="strict", max_order_notional=500, symbol_cooldown_seconds=0, risk_per_trade="0.1")
    url = f"/chains/plan/{plan.pk}/what-if/"
    assert client_for(viewer).post(url, {"risk_profile": strict.pk}).status_code == 403

    client = client_for(operator)
    assert 'id="what-if-form"' in client.get(f"/chains/plan/{plan.pk}/").content.decode()
    partial = client.post(url, {"risk_profile": strict.pk}, HTTP_HX_REQUEST="true").content.decode()
    assert partial.startswith('<div id="chain-what-if">')
    assert "risk profile <strong>strict</strong>" in partial
    assert "scaled_down" in partial and '<tr class="changed"><td>max_order_notional' in partial
    full = client.post(url, {"risk_profile": strict.pk}).content.decode()
    assert 'id="chain-timeline"' in full and 'id="what-if-comparison"' in full
    assert TradePlan.objects.count() == 1


def test_a_decision_without_a_snapshot_is_named_on_the_page(db, operator) -> None:
    old = DecisionFactory(inputs={})
    response = client_for(operator).post(
        f"/chains/decision/{old.pk}/what-if/", {"risk_profile": old.trader.risk_profile_id}, HTTP_HX_REQUEST="true"
    )
    text = response.content.decode()
    assert response.status_code == 200
    assert f"decision {old.pk} was recorded without price or values or equity" in text
    assert 'id="what-if-comparison"' not in text
    bad = client_for(operator).post(f"/chains/decision/{old.pk}/what-if/", {"risk_profile": 999999}).content.decode()
    assert "Select a valid choice" in bad
