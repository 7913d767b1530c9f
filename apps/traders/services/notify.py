"""Sending alerts to people: the channels (apprise URLs kept as write-only secrets) and the
deliveries of each alert to each channel.

Nothing here runs inside a trading cycle. alert_deliveries_schedule only writes pending rows and
enqueues a django-q2 task after the raising transaction commits; the task (alert_delivery_attempt)
talks to the receiver with a bounded timeout and records the outcome. A failed attempt is retried
by the minute's sweep (alert_deliveries_retry) up to MAX_ATTEMPTS times.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import apprise
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_q.tasks import async_task

from apps.core.errors import ServiceValidationError
from apps.secrets.services import (
    UNCHANGED,
    SecretInput,
    secret_fields_delete,
    secret_fields_save,
    secret_reveal,
    secret_will_be_set,
)
from apps.traders.models import Alert, AlertChannel, AlertDelivery

log = logging.getLogger(__name__)

DELIVER_TASK = "apps.traders.tasks.deliver_alert"
MAX_ATTEMPTS = 3
# The wait before the 2nd and the 3rd attempt.
RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=5))
# A claimed delivery whose worker died mid-send is tried again after this long.
CLAIM_LEASE = timedelta(minutes=5)
EDITABLE_FIELDS = frozenset({"name", "enabled", "min_level", "kinds"})
NOTIFY_TYPES = {
    Alert.Level.INFO: apprise.NotifyType.INFO,
    Alert.Level.WARNING: apprise.NotifyType.WARNING,
    Alert.Level.CRITICAL: apprise.NotifyType.FAILURE,
}
_URL_PATTERN = re.compile(r"[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)
_HIDDEN = "[receiver]"


# --- channels ---------------------------------------------------------------------------------------


def alert_channel_clean(channel: AlertChannel, secrets: Mapping[str, SecretInput]) -> None:
    """The rules every write path (services, admin form) runs. Raises ServiceValidationError; the
    message never repeats the URL."""
    url = secrets.get("url", UNCHANGED)
    if not secret_will_be_set(instance=channel, field="url", value=url):
        raise ServiceValidationError("url", "a channel needs a notification URL")
    if isinstance(url, str) and not apprise.Apprise().add(url.strip()):
        raise ServiceValidationError(
            "url",
            "is not a notification URL apprise understands (e.g. slack://, discord://, tgram://, mailto://, json://)",
        )
    if channel.min_level not in Alert.Level.values:
        raise ServiceValidationError("min_level", f"must be one of {', '.join(Alert.Level.values)}")
    kinds = channel.kinds
    if not isinstance(kinds, list) or any(kind not in Alert.Kind.values for kind in kinds):
        raise ServiceValidationError("kinds", "must be a list of alert kinds: " + ", ".join(Alert.Kind.values))
    channel.kinds = sorted(set(kinds))
    if AlertChannel.objects.filter(name=channel.name).exclude(pk=channel.pk).exists():
        raise ServiceValidationError("name", f"an alert channel named {channel.name!r} already exists")


@transaction.atomic
def alert_channel_create(
    *,
    name: str,
    enabled: bool = True,
    min_level: str = Alert.Level.WARNING,
    kinds: Iterable[str] = (),
    secrets: Mapping[str, SecretInput] | None = None,
) -> AlertChannel:
    channel = AlertChannel(name=name, enabled=enabled, min_level=min_level, kinds=list(kinds))
    secrets = dict(secrets or {})
    alert_channel_clean(channel, secrets)
    return secret_fields_save(instance=channel, values=secrets)


@transaction.atomic
def alert_channel_update(
    *, channel: AlertChannel, changes: Mapping[str, Any], secrets: Mapping[str, SecretInput] | None = None
) -> AlertChannel:
    channel = AlertChannel.objects.select_for_update().get(pk=channel.pk)
    for field, value in changes.items():
        if field not in EDITABLE_FIELDS:
            raise ServiceValidationError(field, "is not an editable field")
        setattr(channel, field, list(value) if field == "kinds" else value)
    secrets = dict(secrets or {})
    alert_channel_clean(channel, secrets)
    return secret_fields_save(instance=channel, values=secrets)


@transaction.atomic
def alert_channel_delete(*, channel: AlertChannel) -> None:
    """The channel's deliveries stay in the history under its name."""
    secret_fields_delete(instance=channel, fields=AlertChannel.SECRET_FIELDS)


def alert_channel_test(*, channel: AlertChannel) -> str | None:
    """Send a test notification now (from the page that asked). None when it arrived, else why not."""
    return _notify(
        channel,
        title="TradeOps test notification",
        body=f"A test from TradeOps to the channel {channel.name}. Alerts will arrive like this.",
        level=Alert.Level.INFO,
    )


# --- deliveries ----------------------------------------------------------------------------------


def alert_deliveries_schedule(*, alert: Alert) -> list[AlertDelivery]:
    """A pending delivery per channel that receives the alert, sent by a task once the caller's
    transaction commits (a rolled-back alert is never sent)."""
    now = timezone.now()
    deliveries = [
        AlertDelivery.objects.create(alert=alert, channel=channel, channel_name=channel.name, next_attempt_at=now)
        for channel in AlertChannel.objects.filter(enabled=True)
        if channel.receives(alert)
    ]
    for delivery in deliveries:
        # robust: a broker that is down must not turn the caller's committed work into an error;
        # the pending row stays and the minute's sweep sends it.
        transaction.on_commit(lambda pk=delivery.pk: async_task(DELIVER_TASK, pk), robust=True)
    return deliveries


def alert_delivery_attempt(*, delivery_id: int, now: datetime | None = None) -> AlertDelivery | None:
    """One attempt, if the delivery is due and no other worker holds it. Never raises for the receiver."""
    now = now or timezone.now()
    due = AlertDelivery.objects.filter(
        pk=delivery_id, status=AlertDelivery.Status.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=now + CLAIM_LEASE, attempts=F("attempts") + 1)
    delivery = AlertDelivery.objects.select_related("alert", "channel__url").filter(pk=delivery_id).first()
    if not due or delivery is None:
        return delivery
    error = _deliver(delivery)
    delivery.last_error = (error or "")[:500]
    if error is None:
        delivery.status, delivery.sent_at, delivery.next_attempt_at = AlertDelivery.Status.SENT, timezone.now(), None
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.status, delivery.next_attempt_at = AlertDelivery.Status.FAILED, None
        log.warning(
            "alert %s not delivered to %s after %s attempts", delivery.alert_id, delivery.channel_name, MAX_ATTEMPTS
        )
    else:
        delivery.next_attempt_at = now + RETRY_DELAYS[delivery.attempts - 1]
    delivery.save(update_fields=["status", "sent_at", "next_attempt_at", "last_error"])
    return delivery


def alert_deliveries_retry(*, now: datetime | None = None) -> int:
    """Enqueue every pending delivery that is due: retries, and first attempts whose task was lost."""
    now = now or timezone.now()
    due = list(
        AlertDelivery.objects.filter(status=AlertDelivery.Status.PENDING, next_attempt_at__lte=now).values_list(
            "pk", flat=True
        )
    )
    for delivery_id in due:
        async_task(DELIVER_TASK, delivery_id)
    return len(due)


def _deliver(delivery: AlertDelivery) -> str | None:
    channel = delivery.channel
    if channel is None:
        return "the channel was deleted"
    alert = delivery.alert
    return _notify(
        channel,
        title=f"[{alert.get_level_display()}] {alert.get_kind_display()}",
        body=f"{alert.message}\n\nTradeOps alert {alert.pk}, raised {alert.created_at:%Y-%m-%d %H:%M:%S} UTC.",
        level=alert.level,
    )


def _notify(channel: AlertChannel, *, title: str, body: str, level: str) -> str | None:
    if channel.url is None:
        return "the channel has no URL"
    url = secret_reveal(secret=channel.url, purpose=f"alert channel {channel.pk}")
    client = apprise.Apprise()
    if not client.add(url):
        return "apprise does not understand the stored URL"
    # apprise's own messages name the receiver's host and sometimes its token: they are captured
    # here (the logger does not propagate, see settings.LOGGING) and scrubbed before being stored.
    with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:
        try:
            result = client.notify(
                body=body, title=title, notify_type=NOTIFY_TYPES[level], timeout=settings.ALERT_DELIVERY_TIMEOUT_SECONDS
            )
        except Exception as exc:  # a plugin's bug must not escape into the worker's task log with the URL
            return _scrubbed(f"{type(exc).__name__}: {exc}", url)
        said = captured.getvalue().strip()
    if result:
        return None
    return _scrubbed(said or f"the receiver did not accept it ({result.status})", url)


def _scrubbed(text: str, url: str) -> str:
    """`text` without the URL or any of its parts (host, user, password, path segments, query values)."""
    parts = urlsplit(url)
    pieces = {url, parts.netloc, parts.hostname or "", parts.username or "", parts.password or "", parts.path}
    pieces.update(unquote(segment) for segment in parts.path.split("/"))
    pieces.update(value for _, value in parse_qsl(parts.query))
    for piece in sorted((piece for piece in pieces if len(piece) >= 3), key=len, reverse=True):
        text = text.replace(piece, _HIDDEN)
    return _URL_PATTERN.sub(_HIDDEN, text)[:500]
