"""Health checks shared by the web's /health/ready and `manage.py worker_health`."""

from __future__ import annotations

import socket

from django.conf import settings
from django.db import connection
from django.utils import timezone

REDIS_TIMEOUT_SECONDS = 2
# django-q2 saves each cluster's heartbeat every half second and keeps it 3 s; this allows a slow save.
WORKER_HEARTBEAT_MAX_AGE_SECONDS = 10


def database_check() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        # A broken persistent connection is dropped, so the next request connects afresh.
        connection.close()
        return f"unreachable ({type(exc).__name__})"
    return "ok"


def redis_check() -> str:
    import redis

    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
    )
    try:
        client.ping()
    except Exception as exc:
        return f"unreachable ({type(exc).__name__})"
    finally:
        client.close()
    return "ok"


def readiness() -> dict[str, str]:
    """ "ok" or what went wrong, per dependency (the class of the error only: no hosts, no credentials)."""
    checks = {"database": database_check()}
    if settings.REDIS_URL:
        checks["redis"] = redis_check()
    return checks


def worker_clusters(*, host: str | None = None) -> list:
    """The django-q2 clusters whose heartbeat (saved every half second, kept 3 s) is alive, on `host`
    (None: any host). A cluster that is stopping does not count."""
    from django_q.brokers import get_broker
    from django_q.conf import Conf
    from django_q.status import Stat

    stats = Stat.get_all(broker=get_broker())
    now = timezone.now()
    return [
        stat
        for stat in stats
        if (host is None or stat.host == host)
        and stat.status not in (Conf.STOPPING, Conf.STOPPED)
        and (now - stat.timestamp).total_seconds() < WORKER_HEARTBEAT_MAX_AGE_SECONDS
    ]


def this_host() -> str:
    return socket.gethostname()
