"""The dashboard follows the desk without a reload (pages on a real daphne, events through the embedded
relay, or channels-redis with REDIS_URL): a fill on the paper exchange shows within 2 s, and the kill
switch pressed in one browser shows in another and refuses the next entry. The trades are made in
another process, as the worker makes them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.traders.models import TradePlan
from apps.traders.selectors import kill_switch_get
from apps.traders.services.plans import PlanInput, trade_plan_preview
from tests.e2e.conftest import _start_session, _watched_page
from tests.e2e.test_dashboard import KILL_SWITCH_QUESTION, screenshot
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

LIVE_WITHIN_MS = 2000
ENTRY = {"symbol": "BTC/USDT:USDT", "side": "buy", "stop_loss": Decimal(19500), "take_profit": Decimal(21000)}
# A paper trade previewed and executed in another process (settings_test runs its worker task inline), which
# prints the plan's id and the wall-clock time once its fills are committed.
EXECUTE = """
import time
from decimal import Decimal
from apps.traders.services.plans import PlanInput, trade_plan_execute, trade_plan_preview
plan = trade_plan_preview(plan=PlanInput(trader_id={trader}, symbol="BTC/USDT:USDT", side="buy",
    stop_loss=Decimal(19500), take_profit=Decimal({take_profit})), user=None)
trade_plan_execute(plan_id=plan.pk, user=None)
print(plan.pk, time.time())
"""
# The replay releases its next bar and the worker's paper task fills the orders it reaches.
NEXT_BAR = """
from apps.exchanges.tasks import process_paper_orders
from apps.market.models import MarketFeed
from tests.exchanges.paper.helpers import release
release(MarketFeed.objects.get(market__symbol="BTC/USDT:USDT"), 1)
process_paper_orders()
"""


@pytest.fixture
def viewer_user(transactional_db: None) -> Any:
    return UserFactory(role="viewer")


@pytest.fixture
def second_daphne_page(browser: Any, daphne_server: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """Another browser (its own cookies) on daphne, checked for console errors like the first."""
    yield from _watched_page(browser, daphne_server.url, request)


def execute_elsewhere(daphne_server: Any, trader: Any, *, take_profit: int) -> tuple[int, float]:
    """Preview and execute a paper entry in another process: the plan's id and when its fill was committed."""
    answer = daphne_server.manage("shell", "-c", EXECUTE.format(trader=trader.pk, take_profit=take_profit))
    plan_id, committed_at = answer.stdout.split()[-2:]
    return int(plan_id), float(committed_at)


def live_dashboard(page: Any, url: str, user: Any) -> None:
    _start_session(page, url, user)
    page.goto("/")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "connected")


def test_a_fill_on_the_paper_exchange_shows_on_the_dashboard_within_two_seconds(
    daphne_page: Any, daphne_server: Any, operator_user: Any, paper_trader: Any
) -> None:
    paper_trader.status = "running"
    paper_trader.heartbeat_at = timezone.now()
    paper_trader.save(update_fields=["status", "heartbeat_at"])
    live_dashboard(daphne_page, daphne_server.url, operator_user)
    expect(daphne_page.locator("#panel-positions")).to_contain_text("No open position.")

    plan_id, committed_at = execute_elsewhere(daphne_server, paper_trader, take_profit=21000)

    position = daphne_page.locator(f"#dashboard-position-{plan_id}")
    expect(position).to_be_visible(timeout=LIVE_WITHIN_MS)
    assert time.time() - committed_at < LIVE_WITHIN_MS / 1000
    assert TradePlan.objects.get(pk=plan_id).status == "protection_placed"
    # 0.2 BTC (1 % of 10,000 risked over the 500 stop), entered at the replay's 20,000 close and marked
    # there: no unrealised PnL yet; the stop and target at the market's tick.
    expect(position).to_contain_text("0.2")
    expect(position).to_contain_text("19500")
    expect(position).to_contain_text("21000")
    expect(daphne_page.locator("#panel-executions")).to_contain_text("Entry")
    expect(daphne_page.locator("#panel-orders").locator("tbody tr")).to_have_count(2)  # the stop and the target
    assert daphne_page.evaluate("performance.getEntriesByType('navigation').length") == 1  # never reloaded
    screenshot(daphne_page, "fill_live")


def test_the_kill_switch_pressed_in_one_browser_shows_in_another_and_blocks_the_next_entry(
    daphne_page: Any,
    second_daphne_page: Any,
    daphne_server: Any,
    operator_user: Any,
    viewer_user: Any,
    paper_trader: Any,
) -> None:
    questions: list[str] = []
    daphne_page.on("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    live_dashboard(daphne_page, daphne_server.url, operator_user)
    live_dashboard(second_daphne_page, daphne_server.url, viewer_user)
    watched = second_daphne_page.locator("#panel-kill-switch")
    expect(watched).to_contain_text("released")

    switch = daphne_page.locator("#panel-kill-switch")
    switch.get_by_label("Reason").fill("exchange incident")
    switch.get_by_role("button", name="Engage kill switch").click()
    expect(switch).to_contain_text("engaged")
    assert questions == [KILL_SWITCH_QUESTION]

    expect(watched).to_contain_text("engaged", timeout=LIVE_WITHIN_MS)
    expect(watched).to_contain_text("exchange incident")
    expect(second_daphne_page.locator(f"#dashboard-trader-{paper_trader.pk}")).to_contain_text("halted (kill switch)")
    expect(watched.get_by_role("button")).to_have_count(0)  # the viewer's copy has no button
    screenshot(second_daphne_page, "kill_switch_second_browser")
    assert kill_switch_get().engaged

    refused = trade_plan_preview(plan=PlanInput(trader_id=paper_trader.pk, **ENTRY), user=operator_user)
    assert refused.status == "rejected", refused.status_reason


def test_an_open_plans_page_follows_its_events_instead_of_polling(
    daphne_page: Any, daphne_server: Any, operator_user: Any, paper_trader: Any
) -> None:
    """The take-profit at 20,050 is hit by the replay's next bar (high 20,110): the timeline shows the
    plan completed without a reload (data-live-on="plan fill" on #plan-timeline)."""
    plan_id, _committed_at = execute_elsewhere(daphne_server, paper_trader, take_profit=20050)
    _start_session(daphne_page, daphne_server.url, operator_user)
    daphne_page.goto(f"/trade/plans/{plan_id}/")
    expect(daphne_page.locator("#live-status")).to_have_attribute("data-state", "connected")
    timeline = daphne_page.locator("#plan-timeline")
    expect(timeline).to_contain_text("Protection placed")
    expect(timeline).to_contain_text("updating live")

    daphne_server.manage("shell", "-c", NEXT_BAR)

    expect(timeline).to_contain_text("Completed", timeout=LIVE_WITHIN_MS)
    expect(timeline).to_contain_text("Take-profit hit")
    expect(timeline).not_to_contain_text("updating live")  # a finished plan stops following events
    assert daphne_page.evaluate("performance.getEntriesByType('navigation').length") == 1
