from __future__ import annotations

from django.apps import AppConfig


class StrategiesConfig(AppConfig):
    name = "apps.strategies"
    label = "strategies"
