"""Every change the desk watches is published as a live event in the transaction that makes it
(apps.core.events): a trader's cycle (status, heartbeat, decision, plan, fill), halts and
resets, the kill switch, alerts raised and acknowledged. The events carry ids, states and numbers,
never a secret."""

from __future__ import annotations

import json
from decimal import Decimal as D
from typing import Any

import pytest
from django.db import transaction

from apps.core.events import EventType
from apps.core.models import Event
from apps.exchanges.services.accounts import exchange_account_create
from apps.traders.models import Alert
from apps.traders.services import kill_switch_engage, kill_switch_release, trader_start, trader_stop
from apps.traders.services.alerts import alert_acknowledge, alert_raise
from apps.traders.services.cycles import trader_cycle_run
from apps.traders.services.traders import trader_halt, trader_halt_reset
from tests.exchanges.paper.helpers import release
from tests.factories import RiskProfileFactory, TraderFactory
from tests.traders.approval_helpers import approve_pending
from tests.traders.cycles.test_cycle_flow import running_trader

pytestmark = pytest.mark.django_db
API_KEY, API_SECRET = "live-events-key-7f3a9c", "live-events-secret-c41e2b"


def events(*types: EventType) -> list[dict[str, Any]]:
    rows = Event.objects.filter(type__in=[str(kind) for kind in types]) if types else Event.objects.all()
    return [{"type": row.type, **row.data} for row in rows.order_by("pk")]


def test_a_trading_cycle_publishes_decision_plan_fill_and_heartbeat(
    operator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    trader, feed = running_trader(operator)
    assert events(EventType.TRADER) == [
        {"type": "trader", "trader_id": trader.pk, "status": "running", "heartbeat_at": None}
    ]
    for index in range(2):  # bar 1 closes below 19,000: the entry rule fires
        release(feed, index)
        with django_capture_on_commit_callbacks(execute=True):
            trader_cycle_run(trader_id=trader.pk)

    decisions = events(EventType.DECISION)
    assert [(event["trader_id"], event["action"], event["outcome"]) for event in decisions] == [
        (trader.pk, "hold", "held"),
        (trader.pk, "enter_long", "traded"),
    ]
    plan_id = decisions[1]["plan_id"]
    assert plan_id is not None
    plan_moves = [(event["from"], event["to"]) for event in events(EventType.PLAN) if event["plan_id"] == plan_id]
    assert plan_moves == [("previewed", "pending"), ("pending", "entry_filled"), ("entry_filled", "protection_placed")]
    (entry,) = events(EventType.FILL)
    assert (entry["plan_id"], entry["leg"], entry["side"], entry["status"]) == (plan_id, "entry", "buy", "filled")
    # The paper exchange fills a market buy at the released close (bar 1: 18,900) plus 2 bps slippage.
    assert D(entry["price"]) == D(18900) * D("1.0002")
    heartbeats = [event for event in events(EventType.TRADER) if event["heartbeat_at"] is not None]
    assert len(heartbeats) == 2 and {event["status"] for event in heartbeats} == {"running"}


def test_halts_resets_and_the_kill_switch_are_published(operator: Any) -> None:
    trader = TraderFactory(name="Desk", risk_profile=RiskProfileFactory())
    trader_halt(trader=trader, reason="news spike", user=operator)
    trader_halt_reset(trader=trader, reason="calm again", user=operator)
    kill_switch_engage(user=operator, reason="exchange outage")
    kill_switch_engage(user=operator, reason="double click")  # no change: no event
    kill_switch_release(user=operator, reason="back")  # after a halt it waits for a second admin
    approve_pending()

    assert [
        (event["type"], event.get("trader_id"), event.get("action"), event.get("engaged"))
        for event in events(EventType.HALT, EventType.KILL_SWITCH)
    ] == [
        ("halt", trader.pk, "halt", None),
        ("halt", trader.pk, "reset", None),
        ("halt", None, "halt", None),
        ("kill_switch", None, None, True),
        ("halt", None, "reset", None),
        ("kill_switch", None, None, False),
    ]


def test_alerts_raised_and_acknowledged_are_published(operator: Any) -> None:
    alert = alert_raise(kind=Alert.Kind.POSITION_DRIFT, subject="account:1", message="drift on BTC")
    alert_acknowledge(alert=alert, user=operator)
    alert_acknowledge(alert=alert, user=operator)  # already acknowledged: no second event
    assert [(event["alert_id"], event["kind"], event["acknowledged"]) for event in events(EventType.ALERT)] == [
        (alert.pk, "position_drift", False),
        (alert.pk, "position_drift", True),
    ]


def test_an_event_exists_only_if_its_change_commits(operator: Any) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        kill_switch_engage(user=operator, reason="oops")
        raise RuntimeError("the caller's transaction rolls back")
    assert events() == []


def test_events_never_carry_a_secret(operator: Any) -> None:
    account = exchange_account_create(
        name="Keyed", exchange="binanceusdm", secrets={"api_key": API_KEY, "api_secret": API_SECRET}
    )
    trader = TraderFactory(name="Keyed desk", account=account, risk_profile=RiskProfileFactory())
    trader_halt(trader=trader, reason="check", user=operator)
    alert_raise(kind=Alert.Kind.POSITION_DRIFT, account=account, message="drift on the keyed account")
    kill_switch_engage(user=operator, reason="drill")
    trader_stop(trader=trader, user=operator)
    published = json.dumps(events())
    assert len(events()) >= 4
    for secret in (API_KEY, API_SECRET):
        assert secret not in published
    assert not any(word in published.lower() for word in ("api_key", "api_secret", "password", "token"))


def test_trader_start_and_stop_are_published(runnable_trader: Any, operator: Any) -> None:
    trader_start(trader=runnable_trader, user=operator)
    trader_stop(trader=runnable_trader, user=operator)
    assert [event["status"] for event in events(EventType.TRADER)] == ["running", "stopped"]
