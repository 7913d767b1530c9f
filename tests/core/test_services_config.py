"""REDIS_URL switches the worker broker, channel layer and cache to Redis; without it the
embedded default (ORM broker, in-process layer) is used. CI runs the Redis half for real."""

from __future__ import annotations

import os
import uuid

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django_q.brokers import get_broker
from django_q.brokers.orm import ORM
from django_q.brokers.redis_broker import Redis


@pytest.mark.django_db
def test_worker_broker_follows_redis_url() -> None:
    broker = get_broker()
    if os.environ.get("REDIS_URL"):
        assert isinstance(broker, Redis)
    else:
        assert isinstance(broker, ORM)
        assert settings.Q_CLUSTER["orm"] == "default"


def test_redis_broker_round_trip(redis_url: str) -> None:
    broker = Redis(list_key=f"tradeops-test-{uuid.uuid4().hex}")
    try:
        broker.enqueue("payload")
        assert broker.queue_size() == 1
        task_id, payload = broker.dequeue()[0]
        assert payload.decode() == "payload"
        broker.acknowledge(task_id)
    finally:
        broker.delete_queue()


def test_channel_layer_round_trip_through_redis(redis_url: str) -> None:
    layer = get_channel_layer()
    assert type(layer).__module__.startswith("channels_redis")
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.send)(channel, {"type": "dashboard.event", "data": {"n": 1}})
    assert async_to_sync(layer.receive)(channel) == {"type": "dashboard.event", "data": {"n": 1}}


def test_cache_uses_redis(redis_url: str) -> None:
    key = f"tradeops-test-{uuid.uuid4().hex}"
    cache.set(key, {"ok": True}, timeout=30)
    assert cache.get(key) == {"ok": True}
    assert "RedisCache" in settings.CACHES["default"]["BACKEND"]
    cache.delete(key)
