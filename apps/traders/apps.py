from __future__ import annotations

from django.apps import AppConfig


class TradersConfig(AppConfig):
    name = "apps.traders"
    verbose_name = "Traders and risk"
