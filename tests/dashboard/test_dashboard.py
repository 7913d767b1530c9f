"""The dashboard (/): one page of panels, each served alone at /panels/<name>/, with numbers as a
person reads them, links to every row's detail, and a bounded number of queries."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from typing import Any
from unittest.mock import patch

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.audit.models import DecisionLog
from apps.signals.models import Signal
from apps.traders.models import Execution, TradePlan
from apps.traders.pnl_selectors import pnl_today, traders_pnl_today
from apps.traders.services import kill_switch_engage
from tests.dashboard.conftest import alert, client_for
from tests.exchanges.paper.helpers import bar_time, flat, paper_account, release, store_bars
from tests.factories import TraderFactory
from tests.strategies.factories import StrategyFactory

pytestmark = pytest.mark.django_db

PANEL_IDS = [
    "panel-kill-switch",
    "panel-traders",
    "panel-alerts",
    "panel-positions",
    "panel-orders",
    "panel-executions",
    "panel-equity",
    "panel-signals",
    "panel-decisions",
]


def position(
    trader: Any, market: Any, *, side: str = "buy", quantity: str = "0.25", entry: str = "20000.05"
) -> TradePlan:
    """A plan whose entry filled, with its stop and target, and its filled entry order and open stop."""
    plan = TradePlan.objects.create(
        trader=trader,
        account=trader.account,
        market=market,
        side=side,
        quantity=Decimal(quantity),
        filled_quantity=Decimal(quantity),
        average_entry_price=Decimal(entry),
        reference_price=Decimal(entry),
        stop_loss=Decimal("19500") if side == "buy" else Decimal("20500"),
        take_profit=Decimal("21000") if side == "buy" else Decimal("19000"),
        live=False,
        status=TradePlan.Status.PROTECTION_PLACED,
        risk_report={},
        estimate={},
        expires_at=timezone.now(),
    )
    closing = "sell" if side == "buy" else "buy"
    Execution.objects.create(
        plan=plan,
        leg="entry",
        client_order_id=f"e-{plan.pk}",
        side=side,
        order_type="market",
        amount=Decimal(quantity),
        filled=Decimal(quantity),
        average_price=Decimal(entry),
        fee=Decimal("2.000005"),
        fee_currency="USDT",
        status="filled",
    )
    Execution.objects.create(
        plan=plan,
        leg="stop_loss",
        client_order_id=f"s-{plan.pk}",
        side=closing,
        order_type="stop_market",
        amount=Decimal(quantity),
        trigger_price=plan.stop_loss,
        reduce_only=True,
        status="open",
    )
    return plan


def signal_and_decision(trader: Any, market: Any, strategy: Any, minute: int) -> None:
    candle = bar_time(0) + timedelta(minutes=minute)
    signal = Signal.objects.create(
        strategy=strategy,
        strategy_version=1,
        market=market,
        timeframe="1h",
        candle_open_time=candle,
        direction="long",
        status="emitted",
    )
    DecisionLog.objects.create(
        trader=trader,
        market=market,
        timeframe="1h",
        candle_open_time=candle,
        mode="rules",
        action="enter_long",
        reason="RSI under 40",
        signal=signal,
        outcome="traded",
    )


@pytest.fixture
def desk() -> dict[str, Any]:
    """A paper trader on BTC whose replay stands at 20,100 (the second bar), holding a long."""
    market, feed = store_bars([flat(20000), flat(20100)])
    release(feed, 1)
    trader = TraderFactory(name="Paper desk", account=paper_account(name="Paper demo"), status="running")
    trader.markets.set([market])
    plan = position(trader, market)
    return {"market": market, "trader": trader, "plan": plan, "strategy": StrategyFactory(name="RSI dip")}


def test_the_dashboard_shows_every_panel_with_links_to_each_rows_detail(viewer, desk) -> None:
    trader, plan, market = desk["trader"], desk["plan"], desk["market"]
    signal_and_decision(trader, market, desk["strategy"], 0)
    raised = alert("critical", "stop-loss refused", plan=plan)

    page = client_for(viewer).get(reverse("home")).content.decode()

    for element_id in PANEL_IDS:
        assert f'id="{element_id}"' in page
    assert f'href="{reverse("trader:detail", args=[trader.pk])}">Paper desk</a>' in page
    assert f'href="{reverse("trade:plan_detail", args=[plan.pk])}">{plan.pk}</a>' in page
    assert f'href="{reverse("signals:detail", args=[Signal.objects.get().pk])}"' in page
    assert f'href="{reverse("audit:decision_detail", args=[DecisionLog.objects.get().pk])}"' in page
    assert f'id="dashboard-alert-{raised.pk}"' in page and "stop-loss refused" in page
    assert 'id="equity-chart-desk"' in page  # the charts' equity partial, for the whole desk
    assert 'Follow the running paper trader "Paper desk"' in page  # the newcomer's way in stays


def test_a_position_shows_size_entry_mark_unrealised_pnl_stop_and_target_at_the_markets_precision(viewer, desk) -> None:
    """Reference: long 0.25 BTC from 20,000.05, marked at the replay's close 20,100:
    (20100 − 20000.05) × 0.25 = 24.9875 → 24.99. Tick 0.1, step 0.001 (MarketFactory)."""
    row = client_for(viewer).get("/panels/positions/").content.decode()

    assert '<td class="num">0.25</td>' in row  # the size at the 0.001 step
    assert '<td class="num">20000.1</td>' in row  # the entry at the 0.1 tick, half up
    assert '<td class="num">20100</td>' in row  # the mark
    assert '<td class="num pnl">24.99</td>' in row
    assert '<td class="num">19500</td>' in row and '<td class="num">21000</td>' in row


def test_a_short_position_gains_as_the_price_falls(viewer, desk) -> None:
    """Reference: short 0.1 from 20,300, marked at 20,100: (20300 − 20100) × 0.1 = 20.00; the long stays."""
    position(desk["trader"], desk["market"], side="sell", quantity="0.1", entry="20300")

    panel = client_for(viewer).get("/panels/positions/").content.decode()

    assert '<td class="num pnl">20.00</td>' in panel and '<td class="num pnl">24.99</td>' in panel


def test_open_orders_and_executions_show_the_plans_orders(viewer, desk) -> None:
    plan = desk["plan"]
    client = client_for(viewer)

    orders = client.get("/panels/orders/").content.decode()
    executions = client.get("/panels/executions/").content.decode()

    stop = plan.executions.get(leg="stop_loss")
    assert f'id="dashboard-order-{stop.pk}"' in orders and "reduce-only" in orders
    assert '<td class="num">19500</td>' in orders  # the trigger at the tick
    assert f'id="dashboard-order-{plan.executions.get(leg="entry").pk}"' not in orders  # filled: not open
    assert "Entry" in executions and '<td class="num">20000.1</td>' in executions
    assert "2.00 <small>USDT</small>" in executions  # the fee, money at two decimals


def test_the_traders_panel_shows_status_heartbeat_halt_and_pnl_today(viewer, operator, desk) -> None:
    trader = desk["trader"]
    trader.heartbeat_at = timezone.now()
    trader.save(update_fields=["heartbeat_at"])
    client = client_for(viewer)
    panel = client.get("/panels/traders/").content.decode()
    assert "status-running" in panel and "halted" not in panel

    kill_switch_engage(user=operator, reason="exchange outage")

    assert "halted (kill switch)" in client.get("/panels/traders/").content.decode()


def test_pnl_today_is_realised_plus_unrealised_minus_fees_since_midnight(viewer, desk) -> None:
    """Reference, by hand: nothing closed (realised 0.00); the long 0.25 from 20,000.05 marked at 20,100
    is 24.9875 unrealised; the entry's fee today 2.000005: net 24.9875 − 2.000005 = 22.987495 → 22.99."""
    panel = client_for(viewer).get("/panels/traders/").content.decode()

    assert '<td class="num pnl" title="realised 0.00, unrealised 24.99, fees 2.00">22.99</td>' in panel


def test_equity_today_is_the_desks_equity_and_pnl_since_midnight(viewer, desk) -> None:
    """Reference, by hand: 10,000 starting balance − the 2.000005 fee + 24.9875 unrealised (the long 0.25
    from 20,000.05 marked at 20,100) = 10,022.987495 → 10,022.99; net today 24.9875 − 2.000005 → 22.99."""
    panel = client_for(viewer).get("/panels/equity/").content.decode()

    cells = ["10,022.99", "0.00", "24.99", "2.00"]
    assert "".join(f'<td class="num">{cell}</td>' for cell in cells) in re.sub(r">\s+<", "><", panel)
    assert '<td class="num pnl">22.99</td>' in panel


def test_operators_get_the_kill_switch_and_ack_buttons_and_viewers_do_not(viewer, operator, desk) -> None:
    alert("warning", "drift", plan=desk["plan"])
    for user, shown in ((operator, True), (viewer, False)):
        page = client_for(user).get("/").content.decode()
        assert ("Engage kill switch" in page) is shown
        assert ("Acknowledge" in page) is shown


def test_acknowledging_from_the_dashboard_answers_with_the_panel_without_the_alert(operator, desk) -> None:
    kept = alert("critical", "kept")
    gone = alert("warning", "gone")

    response = client_for(operator).post(reverse("alert_acknowledge", args=[gone.pk]), HTTP_HX_REQUEST="true")

    panel = response.content.decode()
    assert response.status_code == 200 and 'id="panel-alerts"' in panel
    assert f"dashboard-alert-{kept.pk}" in panel and f"dashboard-alert-{gone.pk}" not in panel
    gone.refresh_from_db()
    assert gone.acknowledged_at is not None


def test_an_unknown_panel_is_404(viewer) -> None:
    response = client_for(viewer).get("/panels/nonsense/")

    assert response.status_code == 404


def test_the_dashboard_needs_a_role(outsider) -> None:
    assert client_for(outsider).get("/panels/traders/").status_code == 403


@contextmanager
def pnl_queries() -> Iterator[list[dict[str, Any]]]:
    """The queries the PnL figures (apps.traders.pnl_selectors, per trader and for the desk) make."""
    made: list[dict[str, Any]] = []

    def counted(function: Callable[..., Any]) -> Callable[..., Any]:
        def call(**kwargs: Any) -> Any:
            with CaptureQueriesContext(connection) as queries:
                answer = function(**kwargs)
            made.extend(queries.captured_queries)
            return answer

        return call

    with (
        patch("apps.dashboard.selectors.traders_pnl_today", counted(traders_pnl_today)),
        patch("apps.dashboard.selectors.pnl_today", counted(pnl_today)),
    ):
        yield made


def test_the_page_reads_as_many_queries_for_many_rows_as_for_one(viewer, desk) -> None:
    client = client_for(viewer)
    signal_and_decision(desk["trader"], desk["market"], desk["strategy"], 0)
    alert("warning", "one")
    client.get("/")  # warm the session and the per-process caches
    with CaptureQueriesContext(connection) as one, pnl_queries() as pnl_one:
        client.get("/")

    for number in range(1, 4):
        trader = TraderFactory(name=f"desk {number}", account=desk["trader"].account, status="running")
        trader.markets.set([desk["market"]])
        position(trader, desk["market"])
        signal_and_decision(trader, desk["market"], desk["strategy"], number)
        alert("warning", f"more {number}")
    with CaptureQueriesContext(connection) as many, pnl_queries() as pnl_many:
        response = client.get("/")

    assert response.content.decode().count('id="dashboard-position-') == 4
    # Everything but the PnL figures: pnl_selectors reads them per trader (its contract); counted apart.
    assert len(many) - len(pnl_many) == len(one) - len(pnl_one), "\n".join(q["sql"] for q in many.captured_queries)
