"""The live events the dashboard pushes to browsers: one `publish` for every app.

An event is `{id, type, ts, data}`. `publish` writes it to the `Event` table inside the caller's
transaction, so an event exists exactly when the change it reports was committed. Delivery to the
web process (and from there to the browsers' websockets) happens after the commit:

- with REDIS_URL, the publishing process sends it to the channel layer's `EVENTS_GROUP` (channels-redis);
- on the embedded default (no Redis), the web process relays new rows from the table
  (apps.dashboard.relay), since the in-memory channel layer cannot cross processes.

Either way the table is what a reconnecting browser replays from (`events_after`).
`data` holds ids, states and numbers a page needs, never a secret.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.core.models import Event

logger = logging.getLogger(__name__)

EVENTS_GROUP = "tradeops.events"
CHANNEL_MESSAGE_TYPE = "event.message"


class EventType(StrEnum):
    PLAN = "plan"  # a trade plan's status changed: plan_id, trader_id, account_id, market_id, symbol, from, to
    FILL = "fill"  # an execution (part-)filled: plan_id, execution_id, leg, side, filled, price, fee
    ALERT = "alert"  # an alert was raised or acknowledged: alert_id, level, kind, message, acknowledged
    HALT = "halt"  # a trader halted or reset: trader_id (null: global), action, kind, reason
    KILL_SWITCH = "kill_switch"  # engaged, reason
    SIGNAL = "signal"  # a strategy signal: signal_id, strategy_id, market_id, symbol, side
    DECISION = "decision"  # a cycle's decision: decision_id, trader_id, action, outcome, plan_id
    TRADER = "trader"  # a trader's status or heartbeat: trader_id, status, heartbeat_at
    EQUITY = "equity"  # an equity snapshot: trader_id or account_id, equity, realised, unrealised, fees
    BACKTEST = "backtest"  # a backtest run's progress: run_id, status, progress
    CANDLE = "candle"  # a candle was stored or updated: market_id, symbol, timeframe, time, o, h, l, c, v
    NEWS = "news"  # a news item was stored: item_id, title, source, sentiment


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    """Decimals as strings, datetimes as ISO 8601: what the JSON field and the browser read."""
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def publish(event_type: EventType, data: dict[str, Any]) -> Event:
    """Record an event in the current transaction; deliver it once that commits."""
    event = Event.objects.create(type=str(event_type), data=_jsonable(data))
    if settings.REDIS_URL:
        transaction.on_commit(lambda: _send_to_channel_layer(event))
    return event


def event_message(event: Event) -> dict[str, Any]:
    """The event as the browser receives it."""
    return {"id": event.pk, "type": event.type, "ts": event.ts.isoformat(), "data": event.data}


def _send_to_channel_layer(event: Event) -> None:
    # Imported here: only processes that publish with Redis configured need the channel layer.
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    try:
        async_to_sync(layer.group_send)(EVENTS_GROUP, {"type": CHANNEL_MESSAGE_TYPE, "event": event_message(event)})
    except Exception:  # the change is committed; browsers catch up from the table on reconnect
        logger.warning("Could not send event %s to the channel layer; browsers will replay it on reconnect.", event.pk)


def events_after(last_id: int, *, limit: int, also_ids: Iterable[int] = ()) -> list[Event]:
    """Events after `last_id` (and those of `also_ids` below it), oldest first, at most `limit`."""
    return list(Event.objects.filter(Q(pk__gt=last_id) | Q(pk__in=list(also_ids))).order_by("pk")[:limit])


def event_kept(event_id: int) -> bool:
    """Whether every event after `event_id` is still in the table. Events are pruned oldest first, so
    while the browser's last event is kept, all later ones are too; 0 (a page rendered before any
    event) always is. Ids alone cannot tell: PostgreSQL skips sequence values on rollback."""
    return event_id == 0 or Event.objects.filter(pk=event_id).exists()


def latest_event_id() -> int:
    """The newest event's id (0 when there is none): a page rendered now has seen everything up to it."""
    return Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


@transaction.atomic
def events_prune(*, now: datetime | None = None) -> int:
    """Delete events older than EVENT_RETENTION_HOURS and return how many. The newest event is always
    kept: it tells a reconnecting browser that nothing between its last id and that one was pruned."""
    cutoff = (now or timezone.now()) - timedelta(hours=settings.EVENT_RETENTION_HOURS)
    newest = latest_event_id()
    deleted, _ = Event.objects.filter(ts__lt=cutoff).exclude(pk=newest).delete()
    return deleted
