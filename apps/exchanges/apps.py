from __future__ import annotations

from django.apps import AppConfig


class ExchangesConfig(AppConfig):
    name = "apps.exchanges"
    label = "exchanges"

    def ready(self) -> None:
        # market sits below exchanges and cannot call it: the scheduled collection runs registered collectors.
        from apps.exchanges.collect import exchange_feeds_collect
        from apps.market.collection import collector_register

        collector_register(exchange_feeds_collect)
