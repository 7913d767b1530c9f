"""Alerts reaching people: a real apprise client posting to a local receiver on 127.0.0.1
(tests/traders/alerts/receiver.py), deduplicated by the rules' cooldown, retried a bounded number of
times, and never in the way of the trading path."""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone

from apps.exchanges.adapters.errors import InvalidOrder
from apps.exchanges.adapters.paper import PaperAdapter
from apps.traders.models import Alert, AlertChannel, AlertDelivery, RiskProfile, TradePlan, Trader
from apps.traders.services import notify
from apps.traders.services.alerts import alert_raise, alert_rule_update
from apps.traders.services.notify import MAX_ATTEMPTS, alert_channel_create, alert_deliveries_retry
from apps.traders.services.plans import PlanInput, trade_plan_execute, trade_plan_preview
from tests.exchanges.paper.helpers import SYMBOL, flat, paper_account, store_bars

pytestmark = pytest.mark.django_db
TOKEN = "tok3n-s3cret"


@pytest.fixture
def trader():
    profile = RiskProfile.objects.create(name="standard", symbol_cooldown_seconds=0)
    return Trader.objects.create(name="desk", account=paper_account(), risk_profile=profile)


def channel(url: str, **fields) -> AlertChannel:
    return alert_channel_create(name=fields.pop("name", "ops webhook"), secrets={"url": url}, **fields)


def refused_entry(trader: Trader, monkeypatch, run_on_commit) -> TradePlan:
    """A plan whose entry order the exchange refuses: the plan fails."""

    def refuse(self, request):
        raise InvalidOrder("margin is insufficient")

    monkeypatch.setattr(PaperAdapter, "create_order", refuse)
    store_bars([flat(20000), flat(20100)])
    plan_input = PlanInput(trader_id=trader.pk, symbol=SYMBOL, side="buy", stop_loss=D("19500"), take_profit=D("21000"))
    plan = trade_plan_preview(plan=plan_input, user=None)
    with run_on_commit():
        trade_plan_execute(plan_id=plan.pk, user=None)
    return TradePlan.objects.get(pk=plan.pk)


def test_a_failed_execution_reaches_the_webhook_with_its_message(trader, receiver, monkeypatch, run_on_commit):
    channel(receiver.url("ok"))
    plan = refused_entry(trader, monkeypatch, run_on_commit)

    assert plan.status == TradePlan.Status.FAILED
    alert = Alert.objects.get(kind=Alert.Kind.EXECUTION_FAILED)
    assert (alert.level, alert.plan, alert.subject, alert.notified) == ("critical", plan, f"plan:{plan.pk}", True)
    [message] = receiver.messages("ok")
    assert message["title"] == "[Critical] Trade plan execution failed"
    assert f"Plan {plan.pk} ({SYMBOL} buy, trader desk) failed: entry order refused" in message["message"]
    assert "margin is insufficient" in message["message"]
    assert message["type"] == "failure"
    delivery = AlertDelivery.objects.get(alert=alert)
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 1, "")


def test_channels_get_the_kinds_and_levels_they_ask_for(receiver, run_on_commit):
    channel(receiver.url("ok", "all"), name="everything", min_level="info")
    channel(receiver.url("ok", "critical"), name="pager", min_level="critical")
    channel(receiver.url("ok", "drift"), name="drift only", kinds=["position_drift"])
    channel(receiver.url("ok", "off"), name="paused", enabled=False)
    with run_on_commit():
        alert_raise(kind=Alert.Kind.POSITION_DRIFT, subject="account:1", message="BTC short 0.5 more than the plans")
        alert_raise(kind=Alert.Kind.KILL_SWITCH, subject="kill_switch", message="Kill switch engaged by ann")

    got = sorted((path.split("/")[2], body["message"].split("\n")[0]) for path, body in receiver.posts)
    assert got == [
        ("all", "BTC short 0.5 more than the plans"),
        ("all", "Kill switch engaged by ann"),
        ("critical", "Kill switch engaged by ann"),
        ("drift", "BTC short 0.5 more than the plans"),
    ]


def test_the_same_kind_about_the_same_subject_waits_for_the_cooldown(receiver, run_on_commit):
    channel(receiver.url("ok"))
    raise_for = {"kind": Alert.Kind.ORDER_UNKNOWN}  # default rule: warning, 15 minutes
    with run_on_commit():
        first = alert_raise(**raise_for, subject="plan:1", message="to-1-en not found")
        again = alert_raise(**raise_for, subject="plan:1", message="to-1-en not found")
        other_message = alert_raise(**raise_for, subject="plan:1", message="to-1-tp not found")
        other_plan = alert_raise(**raise_for, subject="plan:2", message="to-2-en not found")

    assert again == first, "the same open alert is not recorded twice"
    assert (first.notified, other_message.notified, other_plan.notified) == (True, False, True)
    assert sorted(body["message"].split("\n")[0] for body in receiver.messages()) == [
        "to-1-en not found",
        "to-2-en not found",
    ]
    # 16 minutes later the cooldown is over.
    Alert.objects.update(created_at=timezone.now() - timedelta(minutes=16))
    with run_on_commit():
        later = alert_raise(**raise_for, subject="plan:1", message="to-1-sl not found")
    assert later.notified and len(receiver.messages()) == 3


def test_a_rule_turned_off_keeps_the_alert_on_the_dashboard_unsent(receiver, run_on_commit):
    channel(receiver.url("ok"))
    alert_rule_update(kind="position_drift", enabled=False, level="info", cooldown_minutes=0, threshold=None)
    with run_on_commit():
        alert = alert_raise(kind=Alert.Kind.POSITION_DRIFT, subject="account:1", message="ETH long 1 more")
    assert (alert.level, alert.notified, alert.acknowledged_at) == ("info", False, None)
    assert receiver.posts == [] and not AlertDelivery.objects.exists()


def test_a_receiver_answering_500_is_retried_then_given_up(receiver, run_on_commit, caplog):
    channel(receiver.url("fail"))
    caplog.set_level(logging.DEBUG)
    with run_on_commit():
        alert = alert_raise(kind=Alert.Kind.TRADER_ERROR, subject="trader:1", message="Trader desk stopped")
    delivery = AlertDelivery.objects.get(alert=alert)
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert "error=500" in delivery.last_error

    # Not due yet, so the sweep leaves it; the 2nd attempt waits a minute, the 3rd (the last) 5 more.
    assert alert_deliveries_retry() == 0
    for wait in (timedelta(minutes=1), timedelta(minutes=5)):
        delivery.refresh_from_db()
        assert delivery.next_attempt_at - timezone.now() == pytest.approx(wait, abs=timedelta(seconds=5))
        AlertDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())  # the wait is over
        assert alert_deliveries_retry() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", MAX_ATTEMPTS, None)
    assert alert_deliveries_retry(now=timezone.now() + timedelta(days=1)) == 0, "given up: never tried again"
    assert len(receiver.messages("fail")) == MAX_ATTEMPTS
    # What is stored and logged names neither the receiver's address nor its secret path.
    for text in (delivery.last_error, caplog.text):
        assert TOKEN not in text and f"127.0.0.1:{receiver.port}" not in text and "127.0.0.1" not in text


def test_a_slow_receiver_times_out_recorded_as_failed(receiver, run_on_commit, settings):
    settings.ALERT_DELIVERY_TIMEOUT_SECONDS = 1
    channel(receiver.url("slow"))
    started = timezone.now()
    with run_on_commit():
        alert = alert_raise(kind=Alert.Kind.TRADER_HALTED, subject="trader:1", message="Trader desk halted")
    assert (timezone.now() - started).total_seconds() < 3, "the attempt gives up at the timeout"
    delivery = AlertDelivery.objects.get(alert=alert)
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert delivery.last_error and TOKEN not in delivery.last_error


def test_a_broken_broker_or_receiver_never_breaks_the_trading_path(trader, receiver, monkeypatch, run_on_commit):
    """The plan fails as it must and its alert is stored; the delivery waits for the minute's sweep."""
    channel(receiver.url("fail"))

    def broker_down(*args, **kwargs):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(notify, "async_task", broker_down)
    plan = refused_entry(trader, monkeypatch, run_on_commit)
    assert plan.status == TradePlan.Status.FAILED
    delivery = AlertDelivery.objects.get(alert__kind=Alert.Kind.EXECUTION_FAILED)
    assert (delivery.status, delivery.attempts, receiver.posts) == ("pending", 0, [])

    monkeypatch.undo()
    assert alert_deliveries_retry() == 1
    delivery.refresh_from_db()
    assert delivery.attempts == 1 and "error=500" in delivery.last_error
