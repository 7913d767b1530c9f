from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from apps.exchanges.collect import collected_series
from apps.market.models import MarketFeed
from apps.market.selectors import feed_behind
from apps.traders.models import Alert
from apps.traders.services.execution import alert_raise

logger = logging.getLogger(__name__)
# A feed more than this many closed candles behind raises an alert.
FEED_LAG_ALERT_CANDLES = 3


def alert_acknowledge(*, alert: Alert, user: AbstractBaseUser) -> Alert:
    """Mark the alert seen. A conditional update: of two operators acknowledging at once, the
    first one's name and time are kept."""
    Alert.objects.filter(pk=alert.pk, acknowledged_at__isnull=True).update(
        acknowledged_at=timezone.now(), acknowledged_by=user
    )
    alert.refresh_from_db()
    return alert


def feed_lag_alerts_update(*, now: datetime | None = None, **_signal: object) -> int:
    """Raise an alert for each collected exchange feed more than FEED_LAG_ALERT_CANDLES candles behind, and
    close (acknowledge, with a note) the alert of each feed that caught up or is no longer collected. One
    open alert per feed: it is found by the message's start, which names the feed. Returns the open feed
    alerts.

    Connected (TradersConfig.ready) to apps.market.events.feeds_ticked, hence the extra arguments."""
    now = now or timezone.now()
    collected = {(series.market.pk, series.timeframe) for series in collected_series()}
    feeds = MarketFeed.objects.filter(source=MarketFeed.Source.EXCHANGE).select_related("market")
    return sum(
        _feed_alert_update(feed=feed, now=now, collected=(feed.market_id, feed.timeframe) in collected)
        for feed in feeds
    )


@transaction.atomic
def _feed_alert_update(*, feed: MarketFeed, now: datetime, collected: bool) -> bool:
    label = _feed_label(feed)
    open_alerts = Alert.objects.select_for_update().filter(
        kind=Alert.Kind.FEED_LAGGING, acknowledged_at__isnull=True, message__startswith=f"{label} "
    )
    if not collected:
        _alerts_close(open_alerts, note=" No longer collected.")
        return False
    behind = feed_behind(feed=feed, now=now)
    if behind is not None and behind > FEED_LAG_ALERT_CANDLES:
        if not open_alerts.exists():
            why = f" ({feed.state_reason})" if feed.state_reason else ""
            alert_raise(
                level=Alert.Level.WARNING,
                kind=Alert.Kind.FEED_LAGGING,
                message=f"{label} is {behind} candles behind{why}.",
            )
        return True
    _alerts_close(open_alerts, note=f" Caught up at {now:%Y-%m-%d %H:%M} UTC.")
    return False


def _feed_label(feed: MarketFeed) -> str:
    """The start of a feed's alert message, unique to the feed (followed by a space)."""
    return f"The {feed.market.exchange} {feed.market.symbol} {feed.timeframe} feed"


def _alerts_close(alerts: Iterable[Alert], *, note: str) -> None:
    for alert in alerts:
        alert.message = (alert.message + note)[:1000]
        alert.acknowledged_at = timezone.now()
        alert.save(update_fields=["message", "acknowledged_at"])
        logger.info("alert %s closed: %s", alert.pk, alert.message)
