"""A strategy evaluation that records signals publishes one live event per commit, about its newest
signal, with the number recorded (a strategy catching up records thousands at once)."""

from __future__ import annotations

import pytest

from apps.core.events import EventType
from apps.core.models import Event
from apps.signals.models import Signal
from tests.signals.helpers import enabled_strategy, stored_market

pytestmark = pytest.mark.django_db


def test_recorded_signals_are_published_once_per_commit(replay_settings, tick) -> None:
    market = stored_market(bars=300)
    strategy = enabled_strategy("bollinger_breakout")
    tick(times=3)

    published = [event.data for event in Event.objects.filter(type=EventType.SIGNAL).order_by("pk")]
    signals = Signal.objects.filter(strategy=strategy)
    assert signals.exists() and published
    assert sum(event["count"] for event in published) == signals.count()
    newest = signals.order_by("-candle_open_time").first()
    assert published[-1] | {"count": 0} == {
        "signal_id": newest.pk,
        "strategy_id": strategy.pk,
        "market_id": market.pk,
        "symbol": market.symbol,
        "timeframe": "1m",
        "side": newest.direction,
        "status": newest.status,
        "candle_open_time": newest.candle_open_time.isoformat().replace("+00:00", "Z"),
        "count": 0,
    }
