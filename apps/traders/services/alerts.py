"""Raising alerts (the one place: alert_raise), the condition checks run every minute, the rules,
and acknowledging. Sending them to people is apps.traders.services.notify.

Event alerts (an execution failed, a stop could not be placed) are raised where the event happens.
Condition alerts (a stale heartbeat, a stopped worker, a lagging feed, a day's loss) go through
alert_condition_update: raised while the condition holds, closed by TradeOps when it goes away.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_q.models import Schedule

from apps.core.errors import ServiceValidationError
from apps.core.events import EventType, publish
from apps.exchanges.collect import collected_series
from apps.exchanges.models import ExchangeAccount
from apps.market.models import MarketFeed
from apps.market.selectors import feed_behind
from apps.traders.models import ACTIVE_TRADER_STATUSES, THRESHOLD_MEANING, Alert, AlertRule, TradePlan, Trader
from apps.traders.selectors import alert_rule_get
from apps.traders.services.notify import alert_deliveries_retry, alert_deliveries_schedule

logger = logging.getLogger(__name__)
# A feed more than this many closed candles behind raises an alert.
FEED_LAG_ALERT_CANDLES = 3
MAX_COOLDOWN_MINUTES = 7 * 24 * 60


@transaction.atomic
def alert_raise(
    *,
    kind: str,
    message: str,
    subject: str = "",
    plan: TradePlan | None = None,
    account: ExchangeAccount | None = None,
) -> Alert:
    """Record an alert at its rule's level and, unless the rule is off or the same kind about the same
    subject was sent within the rule's cooldown, schedule its delivery (after the caller commits).

    `subject` keys the cooldown ("trader:3"); it defaults to the plan, else the account. The same
    open alert (kind, subject and message) is not recorded twice."""
    account = account or (plan.account if plan else None)
    subject = subject or (f"plan:{plan.pk}" if plan else f"account:{account.pk}" if account else "")
    message = message[:1000]
    open_alert = Alert.objects.filter(kind=kind, subject=subject, message=message, acknowledged_at__isnull=True)
    existing = open_alert.first()
    if existing is not None:
        return existing
    rule = alert_rule_get(kind=kind)
    notified = rule.enabled and not _cooling_down(rule, subject)
    logger.warning("alert %s (%s): %s", kind, subject or "-", message)
    alert = Alert.objects.create(
        level=rule.level, kind=kind, message=message, subject=subject, plan=plan, account=account, notified=notified
    )
    if notified:
        alert_deliveries_schedule(alert=alert)
    _alert_publish(alert)
    return alert


def _alert_publish(alert: Alert) -> None:
    data = {"alert_id": alert.pk, "level": alert.level, "kind": alert.kind, "subject": alert.subject}
    publish(EventType.ALERT, {**data, "message": alert.message, "acknowledged": alert.acknowledged_at is not None})


def _cooling_down(rule: AlertRule, subject: str) -> bool:
    since = timezone.now() - timedelta(minutes=rule.cooldown_minutes)
    return Alert.objects.filter(kind=rule.kind, subject=subject, notified=True, created_at__gte=since).exists()


@transaction.atomic
def alert_condition_update(
    *, kind: str, subject: str, holds: bool, message: str, cleared: str, account: ExchangeAccount | None = None
) -> Alert | None:
    """One open alert per (kind, subject) while a condition holds; when it no longer does, the open
    alert is closed with `cleared` appended to its message. Returns the open alert, if any."""
    open_alerts = Alert.objects.select_for_update().filter(kind=kind, subject=subject, acknowledged_at__isnull=True)
    if holds:
        return open_alerts.first() or alert_raise(kind=kind, subject=subject, message=message, account=account)
    _alerts_close(open_alerts, note=cleared)
    return None


@transaction.atomic
def alert_acknowledge(*, alert: Alert, user: AbstractBaseUser) -> Alert:
    """Mark the alert seen. A conditional update: of two operators acknowledging at once, the
    first one's name and time are kept."""
    acknowledged = Alert.objects.filter(pk=alert.pk, acknowledged_at__isnull=True).update(
        acknowledged_at=timezone.now(), acknowledged_by=user
    )
    alert.refresh_from_db()
    if acknowledged:
        _alert_publish(alert)
    return alert


@transaction.atomic
def alert_rule_update(*, kind: str, enabled: bool, level: str, cooldown_minutes: int, threshold: Any) -> AlertRule:
    """Store the rule of `kind`. A threshold is required by the kinds that have one and refused by the others."""
    if kind not in Alert.Kind.values:
        raise ServiceValidationError("kind", f"{kind!r} is not an alert kind")
    if level not in Alert.Level.values:
        raise ServiceValidationError("level", f"must be one of {', '.join(Alert.Level.values)}")
    if not 0 <= cooldown_minutes <= MAX_COOLDOWN_MINUTES:
        raise ServiceValidationError("cooldown_minutes", f"must be between 0 and {MAX_COOLDOWN_MINUTES} (a week)")
    if kind in THRESHOLD_MEANING:
        if threshold is None or Decimal(threshold) <= 0:
            raise ServiceValidationError("threshold", f"must be a positive number: {THRESHOLD_MEANING[kind]}")
    elif threshold is not None:
        raise ServiceValidationError("threshold", "this kind has no threshold; leave it empty")
    rule, _ = AlertRule.objects.update_or_create(
        kind=kind,
        defaults={"enabled": enabled, "level": level, "cooldown_minutes": cooldown_minutes, "threshold": threshold},
    )
    return rule


# --- conditions ------------------------------------------------------------------------------------------


def alert_conditions_check(*, now: datetime | None = None) -> str:
    """The minute's check: stale trader heartbeats, overdue schedules, and the deliveries to retry."""
    now = now or timezone.now()
    stale = heartbeat_alerts_update(now=now)
    stopped = worker_alert_update(now=now)
    retried = alert_deliveries_retry(now=now)
    worker = "schedules overdue" if stopped else "schedules on time"
    return f"{stale} stale trader heartbeat(s), {worker}, {retried} alert deliveries retried"


def heartbeat_alerts_update(*, now: datetime | None = None) -> int:
    """A running (or halted) trader whose last cycle is older than the rule's threshold has an open
    alert; a trader that cycles again, or was stopped, has it closed. Returns the stale traders."""
    now = now or timezone.now()
    minutes = alert_rule_get(kind=Alert.Kind.HEARTBEAT_STALE).threshold
    cutoff = now - timedelta(minutes=float(minutes or 0))
    traders = Trader.objects.annotate(last_seen=Coalesce("heartbeat_at", "updated_at")).select_related("account")
    stale = 0
    for trader in traders:
        holds = trader.status in ACTIVE_TRADER_STATUSES and trader.last_seen < cutoff
        seen = f"{trader.heartbeat_at:%Y-%m-%d %H:%M} UTC" if trader.heartbeat_at else "it was started"
        alert_condition_update(
            kind=Alert.Kind.HEARTBEAT_STALE,
            subject=f"trader:{trader.pk}",
            holds=holds,
            message=f"Trader {trader.name} ({trader.status}) has not run a cycle since {seen}: is the worker running?",
            cleared=f" Cycling again at {now:%Y-%m-%d %H:%M} UTC." if trader.is_active else " The trader was stopped.",
            account=trader.account,
        )
        stale += holds
    return stale


def worker_alert_update(*, now: datetime | None = None) -> bool:
    """django-q2's schedules run only while a worker (qcluster) runs: one overdue by more than the
    rule's threshold means no worker is taking them. Checked by the minute's task (which sees another
    cluster's absence) and by `manage.py alerts_check` from outside the worker (cron, a healthcheck)."""
    now = now or timezone.now()
    minutes = alert_rule_get(kind=Alert.Kind.WORKER_STOPPED).threshold
    repeating = Q(repeats__lt=0) | Q(repeats__gt=0)
    overdue = Schedule.objects.filter(repeating, next_run__lt=now - timedelta(minutes=float(minutes or 0)))
    names = sorted(overdue.values_list("name", flat=True))
    alert = alert_condition_update(
        kind=Alert.Kind.WORKER_STOPPED,
        subject="worker",
        holds=bool(names),
        message=f"No worker is running scheduled tasks: {', '.join(names)[:600]} overdue by over {minutes} min.",
        cleared=f" Schedules on time again at {now:%Y-%m-%d %H:%M} UTC.",
    )
    return alert is not None


def daily_loss_alert_update(*, trader: Trader, day: date, day_start_equity: Decimal, equity: Decimal) -> Alert | None:
    """Warn while a trader's loss since the UTC day started is at or over the rule's percentage of
    its starting equity (below the risk profile's daily-loss halt, which raises its own alert)."""
    percent = alert_rule_get(kind=Alert.Kind.DAILY_LOSS).threshold or Decimal(0)
    lost = (day_start_equity - equity) / day_start_equity * 100 if day_start_equity > 0 else Decimal(0)
    return alert_condition_update(
        kind=Alert.Kind.DAILY_LOSS,
        subject=f"trader:{trader.pk}:{day.isoformat()}",
        holds=day_start_equity > 0 and lost >= percent,
        message=(
            f"Trader {trader.name} has lost {lost:.2f} % of its day's starting equity on {day.isoformat()} "
            f"({day_start_equity:.2f} → {equity:.2f}); the alert threshold is {percent} %."
        ),
        cleared=" Back under the threshold.",
        account=trader.account,
    )


def feed_lag_alerts_update(*, now: datetime | None = None, **_signal: object) -> int:
    """Raise an alert for each collected exchange feed more than FEED_LAG_ALERT_CANDLES candles behind, and
    close the alert of each feed that caught up or is no longer collected. Returns the open feed alerts.

    Connected (TradersConfig.ready) to apps.market.events.feeds_ticked, hence the extra arguments."""
    now = now or timezone.now()
    collected = {(series.market.pk, series.timeframe) for series in collected_series()}
    feeds = MarketFeed.objects.filter(source=MarketFeed.Source.EXCHANGE).select_related("market")
    return sum(
        _feed_alert_update(feed=feed, now=now, collected=(feed.market_id, feed.timeframe) in collected)
        for feed in feeds
    )


def _feed_alert_update(*, feed: MarketFeed, now: datetime, collected: bool) -> bool:
    behind = feed_behind(feed=feed, now=now) if collected else None
    why = f" ({feed.state_reason})" if feed.state_reason else ""
    label = f"The {feed.market.exchange} {feed.market.symbol} {feed.timeframe} feed"
    alert = alert_condition_update(
        kind=Alert.Kind.FEED_LAGGING,
        subject=f"feed:{feed.pk}",
        holds=behind is not None and behind > FEED_LAG_ALERT_CANDLES,
        message=f"{label} is {behind} candles behind{why}.",
        cleared=f" Caught up at {now:%Y-%m-%d %H:%M} UTC." if collected else " No longer collected.",
    )
    return alert is not None


def _alerts_close(alerts: Iterable[Alert], *, note: str) -> None:
    for alert in alerts:
        alert.message = (alert.message + note)[:1000]
        alert.acknowledged_at = timezone.now()
        alert.save(update_fields=["message", "acknowledged_at"])
        logger.info("alert %s closed: %s", alert.pk, alert.message)
        _alert_publish(alert)
