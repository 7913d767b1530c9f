"""`manage.py alerts_check`: the alert conditions checked from outside the worker.

The worker checks them every minute itself, but a stopped worker cannot say it stopped: run this
from cron or a container healthcheck next to the web process so an overdue schedule still alerts."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from apps.traders.services.alerts import alert_conditions_check


class Command(BaseCommand):
    help = "Check stale trader heartbeats and overdue worker schedules, raise or close their alerts, retry deliveries."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(alert_conditions_check())
