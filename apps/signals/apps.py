from __future__ import annotations

from django.apps import AppConfig


class SignalsConfig(AppConfig):
    name = "apps.signals"
    label = "signals"

    def ready(self) -> None:
        # market sits below signals and cannot call it: it announces released candles instead.
        from apps.market.collection import follower_register
        from apps.market.events import candles_released
        from apps.signals.selectors import strategy_followed_series
        from apps.signals.services import signal_evaluations_enqueue

        candles_released.connect(signal_evaluations_enqueue, dispatch_uid="signals.evaluate_released_candles")
        follower_register(strategy_followed_series)
