"""Regression: adding a testnet or live account on an exchange used to stop the replay feed of its
markets, so the exchange's paper accounts got no new prices and their open plans never reached their
stop or target. A paper account's prices must not depend on which other accounts exist."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from apps.exchanges.models import ExchangeAccount
from apps.exchanges.tasks import process_paper_orders
from apps.market.tasks import collect_market_data
from apps.traders.models import RiskProfile, TradePlan, Trader
from apps.traders.services.plans import PlanInput, trade_plan_execute, trade_plan_preview
from tests.exchanges.paper.helpers import SYMBOL, bar_time, flat, paper_account, store_bars

pytestmark = pytest.mark.django_db
# Bar 0 prices the entry at 20,000; bar 2 reaches the 21,000 target; bar 3 falls through the 19,500 stop.
BARS = [flat(20000), flat(20100), (20100, 21100, 20050, 21000), (21000, 21000, 19400, 19500), flat(19500)]


@pytest.mark.parametrize(
    ("take_profit", "reached_at", "reason"),
    [(D("21000"), 2, TradePlan.CloseReason.TAKE_PROFIT), (D("22000"), 3, TradePlan.CloseReason.STOP_LOSS)],
)
@pytest.mark.parametrize("other_mode", [ExchangeAccount.Mode.TESTNET, ExchangeAccount.Mode.LIVE])
def test_an_open_paper_plan_reaches_its_exit_after_a_testnet_or_live_account_is_added(
    settings, django_capture_on_commit_callbacks, other_mode, take_profit, reached_at, reason
) -> None:
    settings.REPLAY_SPEED = 1
    feed = store_bars(BARS)[1]
    profile = RiskProfile.objects.create(name="standard", symbol_cooldown_seconds=0)
    trader = Trader.objects.create(name="desk", account=paper_account(), risk_profile=profile)
    plan = trade_plan_preview(
        plan=PlanInput(trader_id=trader.pk, symbol=SYMBOL, side="buy", stop_loss=D("19500"), take_profit=take_profit),
        user=None,
    )
    with django_capture_on_commit_callbacks(execute=True):
        trade_plan_execute(plan_id=plan.pk, user=None)
    assert TradePlan.objects.get(pk=plan.pk).status == TradePlan.Status.PROTECTION_PLACED

    ExchangeAccount.objects.create(
        name="the desk's other account", exchange=feed.market.exchange, mode=other_mode, price_source="live"
    )
    for _minute in range(reached_at):
        collect_market_data()
        process_paper_orders()

    feed.refresh_from_db()
    assert (feed.horizon, feed.state) == (bar_time(reached_at), "running")
    plan.refresh_from_db()
    assert (plan.status, plan.close_reason) == (TradePlan.Status.COMPLETED, reason)
