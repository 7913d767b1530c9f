"""Alerts about conditions rather than events, checked every minute (and by `manage.py alerts_check`):
raised once while the condition holds, closed by TradeOps when it goes away."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_q.models import Schedule

from apps.traders.models import Alert, Trader
from apps.traders.services import trader_risk_update
from apps.traders.services.alerts import alert_rule_update, heartbeat_alerts_update, worker_alert_update
from tests.factories import TraderFactory

pytestmark = pytest.mark.django_db


def open_alerts(kind: str) -> list[Alert]:
    return list(Alert.objects.filter(kind=kind, acknowledged_at__isnull=True))


def test_a_running_trader_without_a_cycle_for_10_minutes_raises_then_closes() -> None:
    now = timezone.now()
    stale = TraderFactory(name="sleepy", status=Trader.Status.RUNNING, heartbeat_at=now - timedelta(minutes=11))
    TraderFactory(name="fresh", status=Trader.Status.RUNNING, heartbeat_at=now - timedelta(minutes=2))
    TraderFactory(name="parked", status=Trader.Status.STOPPED, heartbeat_at=now - timedelta(days=3))

    assert heartbeat_alerts_update(now=now) == 1
    assert heartbeat_alerts_update(now=now + timedelta(minutes=1)) == 1, "still stale: the same alert"
    [alert] = open_alerts(Alert.Kind.HEARTBEAT_STALE)
    assert (alert.level, alert.subject) == ("critical", f"trader:{stale.pk}")
    assert alert.message.startswith("Trader sleepy (running) has not run a cycle since ")

    Trader.objects.filter(pk=stale.pk).update(heartbeat_at=now + timedelta(minutes=2))
    assert heartbeat_alerts_update(now=now + timedelta(minutes=3)) == 0
    alert.refresh_from_db()
    assert alert.acknowledged_at is not None and alert.acknowledged_by is None
    assert "Cycling again at" in alert.message


def test_an_overdue_schedule_means_no_worker_is_running() -> None:
    now = timezone.now()
    Schedule.objects.update(next_run=now + timedelta(seconds=30))
    assert worker_alert_update(now=now) is False

    Schedule.objects.filter(name="Reconcile trades").update(next_run=now - timedelta(minutes=6))
    call_command("alerts_check")
    [alert] = open_alerts(Alert.Kind.WORKER_STOPPED)
    assert "Reconcile trades overdue by over 5 min" in alert.message

    Schedule.objects.update(next_run=timezone.now() + timedelta(minutes=1))
    assert worker_alert_update() is False
    alert.refresh_from_db()
    assert alert.acknowledged_at is not None and "Schedules on time again" in alert.message


def test_a_day_s_loss_over_the_threshold_warns_once_before_the_halt() -> None:
    """The risk profile halts at 3 % (its default); the alert rule warns from 2 %. Reference: by hand,
    (1000 - 979.50) / 1000 = 2.05 %."""
    trader = TraderFactory(name="desk")
    at = timezone.now().replace(hour=9)
    trader_risk_update(trader=trader, equity=Decimal("1000"), now=at)
    trader_risk_update(trader=trader, equity=Decimal("985"), now=at + timedelta(minutes=1))
    assert open_alerts(Alert.Kind.DAILY_LOSS) == [], "1.5 % is under the threshold"

    trader_risk_update(trader=trader, equity=Decimal("979.50"), now=at + timedelta(minutes=2))
    trader_risk_update(trader=trader, equity=Decimal("978"), now=at + timedelta(minutes=3))
    [alert] = open_alerts(Alert.Kind.DAILY_LOSS)
    assert alert.message == (
        f"Trader desk has lost 2.05 % of its day's starting equity on {at.date().isoformat()} "
        "(1000.00 → 979.50); the alert threshold is 2 %."
    )
    assert (alert.level, alert.account) == ("warning", trader.account)
    assert not open_alerts(Alert.Kind.TRADER_HALTED)

    trader_risk_update(trader=trader, equity=Decimal("995"), now=at + timedelta(minutes=4))
    assert open_alerts(Alert.Kind.DAILY_LOSS) == []


def test_thresholds_follow_the_rule() -> None:
    alert_rule_update(kind="heartbeat_stale", enabled=True, level="warning", cooldown_minutes=5, threshold=30)
    now = timezone.now()
    TraderFactory(status=Trader.Status.RUNNING, heartbeat_at=now - timedelta(minutes=20))
    assert heartbeat_alerts_update(now=now) == 0
    assert heartbeat_alerts_update(now=now + timedelta(minutes=11)) == 1
    assert open_alerts(Alert.Kind.HEARTBEAT_STALE)[0].level == "warning"
