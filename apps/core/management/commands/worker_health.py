"""Exit 0 when a django-q2 worker cluster on this host is alive, 1 otherwise: docker-compose's worker
healthcheck (README "Metrics and health")."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from apps.core.health import WORKER_HEARTBEAT_MAX_AGE_SECONDS, this_host, worker_clusters


class Command(BaseCommand):
    help = (
        "Exit 0 if a worker cluster (manage.py qcluster) on this host has a live heartbeat, 1 if none has; "
        "--any-host accepts a cluster on any host."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--any-host", action="store_true", help="accept a live cluster on any host")

    def handle(self, *args: Any, any_host: bool, **options: Any) -> None:
        host = None if any_host else this_host()
        where = "any host" if host is None else f"host {host}"
        try:
            clusters = worker_clusters(host=host)
        except Exception as exc:
            self.stderr.write(f"unhealthy: the worker heartbeats could not be read ({type(exc).__name__})")
            raise SystemExit(1) from None
        if not clusters:
            self.stderr.write(
                f"unhealthy: no worker cluster on {where} has saved a heartbeat in the last "
                f"{WORKER_HEARTBEAT_MAX_AGE_SECONDS} s (is manage.py qcluster running?)"
            )
            raise SystemExit(1)
        listing = ", ".join(f"{stat.cluster_id} ({stat.status}, {len(stat.workers)} workers)" for stat in clusters)
        self.stdout.write(f"healthy: {len(clusters)} worker cluster(s) on {where}: {listing}")
