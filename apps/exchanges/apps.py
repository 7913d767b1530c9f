from __future__ import annotations

from django.apps import AppConfig


class ExchangesConfig(AppConfig):
    name = "apps.exchanges"
    label = "exchanges"

    def ready(self) -> None:
        from apps.exchanges.services.markets import market_describe_from_exchange
        from apps.market.describers import market_describer_register

        # apps.market may not import this app; its import_candles --create-market asks through the registry.
        market_describer_register(market_describe_from_exchange)
