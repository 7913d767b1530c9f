"""Create (or restore) the worker's periodic tasks: market data collection and the evaluation sweep."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from apps.signals.services import schedules_ensure


class Command(BaseCommand):
    help = "Create or correct the django-q2 schedules that collect market data and evaluate strategies."

    def handle(self, *args: Any, **options: Any) -> None:
        for name, created in schedules_ensure():
            self.stdout.write(f"{'Created' if created else 'Checked'} schedule '{name}'.")
