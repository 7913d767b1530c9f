"""django-q2 entry points of the signals app: they take ids, and the services reload what they need."""

from __future__ import annotations

from apps.signals import services


def evaluate_strategy(strategy_id: int, market_id: int, timeframe: str) -> str:
    """Enqueued after new candles of the market/timeframe are committed (apps.market.events.candles_released)."""
    return str(services.strategy_evaluate(strategy_id=strategy_id, market_id=market_id, timeframe=timeframe))


def evaluate_strategies() -> str:
    """Scheduled sweep: enqueue the evaluations that lag their feed (a strategy just enabled, a lost task)."""
    pending = services.signal_evaluations_enqueue_pending()
    return f"{pending} evaluation{'' if pending == 1 else 's'} enqueued"
