from __future__ import annotations

from django.apps import AppConfig


class ExchangesConfig(AppConfig):
    name = "apps.exchanges"
    label = "exchanges"

    def ready(self) -> None:
        from apps.exchanges.collect import exchange_feeds_collect
        from apps.exchanges.services.markets import market_describe_from_exchange
        from apps.market.collection import collector_register
        from apps.market.describers import market_describer_register

        # apps.market may not import this app: its import_candles --create-market asks through one registry,
        # and the scheduled collection runs the collectors registered in another.
        market_describer_register(market_describe_from_exchange)
        collector_register(exchange_feeds_collect)
