"""django-q2 entry points of the market app."""

from __future__ import annotations

from apps.market.replay import market_data_collect


def collect_market_data(market_id: int | None = None) -> str:
    """Scheduled every minute: release newly closed candles of active markets (see apps.market.replay).

    Evaluations of the strategies that use them are enqueued after each feed's commit.
    """
    ticks = market_data_collect(market_id=market_id)
    moved = [tick for tick in ticks if tick.moved]
    enqueued = sum(len(tick.strategies) for tick in moved)
    return f"{len(ticks)} feeds ticked, {len(moved)} released candles, {enqueued} evaluations enqueued"
