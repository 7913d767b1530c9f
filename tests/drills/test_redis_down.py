"""Drill: Redis down (REDIS_URL points at a port where nothing listens). The web stays up: pages render and
the API answers; the worker's cycle still trades, and what it publishes to the channel layer is logged as
lost, not raised (browsers replay events from the table on reconnect)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from django.test import Client, override_settings

from apps.core.events import EventType, publish
from apps.core.models import Event
from apps.traders.models import TradePlan
from apps.traders.services.cycles import trader_cycle_run
from tests.drills.conftest import DrillDesk

DEAD_REDIS = "redis://127.0.0.1:8173/8"  # a port of this engineer's range where nothing listens
DEAD_CACHE = {
    "BACKEND": "apps.core.cache.ResilientRedisCache",  # as tradeops.settings configures it with REDIS_URL
    "LOCATION": DEAD_REDIS,
    "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
}
REDIS_DOWN = {
    "CACHES": {"default": DEAD_CACHE, "market": {**DEAD_CACHE, "KEY_PREFIX": "market"}},
    "CHANNEL_LAYERS": {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [DEAD_REDIS]}}
    },
}


@pytest.fixture
def redis_down() -> Iterator[None]:
    with override_settings(**REDIS_DOWN):  # Django's setting_changed handler rebuilds the caches
        yield


@pytest.mark.django_db
def test_pages_render_and_the_api_answers(redis_down: Any, viewer: Any) -> None:
    client = Client()
    client.force_login(viewer)
    for path in ("/", "/traders/", "/trade/plans/", "/alerts/", "/markets/", "/api/v1/traders", "/api/v1/kill-switch"):
        assert client.get(path).status_code == 200, path


@pytest.mark.django_db(transaction=True)  # the plan's task and the events run after the commit, as in a worker
@pytest.mark.parametrize("emulator", ["binanceusdm"], indirect=True)
def test_the_worker_trades_and_logs_what_it_could_not_publish(
    drill_desk: DrillDesk, caplog: pytest.LogCaptureFixture
) -> None:
    with override_settings(**REDIS_DOWN, REDIS_URL=DEAD_REDIS), caplog.at_level(logging.WARNING):
        report = trader_cycle_run(trader_id=drill_desk.trader.pk)
        # The cycle's own publish points are the events work's; one published here takes the same path.
        with transaction.atomic():
            event = publish(EventType.PLAN, {"plan_id": TradePlan.objects.get().pk})

    assert report.markets[0].outcome == "traded", report
    assert TradePlan.objects.get().status == TradePlan.Status.PROTECTION_PLACED
    assert sorted(drill_desk.order_counts().values()) == [1, 1, 1]
    assert Event.objects.filter(pk=event.pk).exists()  # kept: browsers replay it from the table on reconnect
    assert any(f"Could not send event {event.pk}" in r.getMessage() for r in caplog.records)
