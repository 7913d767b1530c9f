"""Trade plans, executions, plan events and alerts in the admin: listed, filtered, searched, read-only."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.traders.models import Alert, Execution, PlanEvent, TradePlan
from apps.traders.services.plans import PlanInput, trade_plan_execute, trade_plan_preview
from tests.traders.trading.test_api import SYMBOL, client_for, setup_paper_trader

pytestmark = pytest.mark.django_db


@pytest.fixture
def executed_plan(operator, django_capture_on_commit_callbacks) -> TradePlan:
    trader, _feed = setup_paper_trader()
    plan = trade_plan_preview(
        plan=PlanInput(
            trader_id=trader.pk,
            symbol=SYMBOL,
            side="buy",
            stop_loss=Decimal(19500),
            take_profit=Decimal(21000),
            reason="admin breakout",
        ),
        user=operator,
    )
    with django_capture_on_commit_callbacks(execute=True):
        trade_plan_execute(plan_id=plan.pk, user=operator)
    Alert.objects.create(level="warning", kind="position_drift", message="drift seen", plan=plan, account=plan.account)
    plan.refresh_from_db()
    return plan


@pytest.mark.parametrize(
    ("model", "queries"),
    [
        ("tradeplan", ["status=protection_placed", "source=operator", "q=admin+breakout", "q=BTC"]),
        ("execution", ["leg=stop_loss", "status=open", "q=BTC"]),
        ("planevent", ["to_status=pending", "q=executed"]),
        ("alert", ["level=warning", "kind=position_drift", "q=drift"]),
    ],
)
def test_changelists_filter_and_search(admin_user, executed_plan, model, queries) -> None:
    client = client_for(admin_user)
    base = f"/admin/traders/{model}/"
    response = client.get(base)
    assert response.status_code == 200
    for query in queries:
        response = client.get(f"{base}?{query}")
        assert response.status_code == 200, query
        assert "0 results" not in response.content.decode() and "errornote" not in response.content.decode(), query


def test_search_by_client_order_id(admin_user, executed_plan) -> None:
    client = client_for(admin_user)
    entry = executed_plan.executions.get(leg="entry")
    page = client.get("/admin/traders/tradeplan/", {"q": entry.client_order_id}).content.decode()
    assert f"/admin/traders/tradeplan/{executed_plan.pk}/change/" in page
    page = client.get("/admin/traders/execution/", {"q": entry.client_order_id}).content.decode()
    assert f"/admin/traders/execution/{entry.pk}/change/" in page
    assert "1 result" in page or "1 execution" in page


def test_everything_is_read_only(admin_user, executed_plan) -> None:
    client = client_for(admin_user)
    execution = executed_plan.executions.first()
    event = executed_plan.events.first()
    alert = Alert.objects.get()
    for model, pk in (("tradeplan", executed_plan.pk), ("execution", execution.pk), ("planevent", event.pk)):
        assert client.get(f"/admin/traders/{model}/add/").status_code == 403
        page = client.get(f"/admin/traders/{model}/{pk}/change/")
        assert page.status_code == 200
        assert 'name="_save"' not in page.content.decode()
        assert client.get(f"/admin/traders/{model}/{pk}/delete/").status_code == 403
    assert client.get(f"/admin/traders/alert/{alert.pk}/change/").status_code == 200
    plan_page = client.get(f"/admin/traders/tradeplan/{executed_plan.pk}/change/").content.decode()
    assert execution.client_order_id in plan_page  # the executions inline
    client.post(f"/admin/traders/tradeplan/{executed_plan.pk}/change/", {"status": "cancelled"})
    client.post(f"/admin/traders/alert/{alert.pk}/delete/", {"post": "yes"})
    executed_plan.refresh_from_db()
    assert executed_plan.status == "protection_placed"
    assert Alert.objects.filter(pk=alert.pk).exists()
    assert Execution.objects.count() == 3 and PlanEvent.objects.filter(plan=executed_plan).count() >= 3


def test_lists_show_numbers_at_the_markets_tick_and_step(admin_user, executed_plan) -> None:
    client = client_for(admin_user)
    entry = executed_plan.executions.get(leg="entry")
    assert entry.amount == Decimal("0.2") and entry.fee > 0
    executions = client.get("/admin/traders/execution/", {"leg": "entry"}).content.decode()
    assert '<td class="field-amount_shown">0.2</td>' in executions  # not 0.200000000000
    assert f'<td class="field-fee_shown">{entry.fee:,.2f}</td>' in executions
    plans = client.get("/admin/traders/tradeplan/").content.decode()
    assert '<td class="field-quantity_shown">0.2</td>' in plans
    candles = client.get("/admin/market/candle/").content.decode()
    assert '<td class="field-close_shown">20000</td>' in candles  # tick 0.1: 20000.0 shows as 20000
    assert "20000.000000000000" not in candles
