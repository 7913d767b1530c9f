"""On a replay, plan events happen now but at prices from the stored history: each event records the
replay's market time, and the pages show it beside the wall-clock time when the two differ."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone

from apps.exchanges.models import ExchangeAccount
from apps.traders.models import PlanEvent, TradePlan
from apps.traders.services.execution import plan_note
from tests.exchanges.paper.helpers import bar_time
from tests.traders.trading.test_api import client_for, setup_paper_trader
from tests.traders.trading.test_pages import preview, url

pytestmark = pytest.mark.django_db


def test_each_event_of_a_replayed_plan_records_the_candle_time_and_the_pages_show_it(
    operator, completed_plan: TradePlan
) -> None:
    plan, client = completed_plan, client_for(operator)

    events = list(PlanEvent.objects.filter(plan=plan).order_by("at", "id"))
    assert events[0].market_time == bar_time(0)  # previewed while the replay stood at bar 0
    assert events[-1].to_status == "completed" and events[-1].market_time == bar_time(2)

    detail = client.get(url("plan_detail", plan)).content.decode()
    assert f"market {bar_time(0):%Y-%m-%d %H:%M}" in detail  # the created row and the first events
    assert f"market {bar_time(2):%Y-%m-%d %H:%M}" in detail  # the take-profit
    listing = client.get(reverse("trade:plan_list")).content.decode()
    assert f"market {bar_time(0):%Y-%m-%d %H:%M}" in listing


def test_a_live_account_records_no_market_time(operator) -> None:
    trader, _feed = setup_paper_trader()
    plan = preview(trader, operator)
    ExchangeAccount.objects.filter(pk=trader.account_id).update(
        mode=ExchangeAccount.Mode.TESTNET, price_source=ExchangeAccount.PriceSource.LIVE
    )
    plan.refresh_from_db()
    plan_note(plan=plan, reason="looked at")
    assert PlanEvent.objects.get(plan=plan, reason="looked at").market_time is None


@pytest.mark.parametrize(
    ("offset", "shown"),
    [
        (timedelta(days=900), True),
        (timedelta(minutes=1), False),  # the clocks agree: no noise
    ],
)
def test_the_market_time_shows_only_when_it_differs_from_the_wall_clock(offset: timedelta, shown: bool) -> None:
    wall = timezone.now()
    html = Template("{% load tradeops %}{% market_time wall market %}").render(
        Context({"wall": wall, "market": wall - offset})
    )
    assert ("market " in html) is shown
    assert Template("{% load tradeops %}{% market_time wall None %}").render(Context({"wall": wall})) == ""
