"""django-q2 entry points of the market app."""

from __future__ import annotations

from apps.market.models import MarketFeed
from apps.market.replay import market_data_collect


def collect_market_data(market_id: int | None = None) -> str:
    """Scheduled every minute: release newly closed candles of active markets on the replay (see
    apps.market.replay), then collect the followed series from the exchanges (apps.exchanges.collect,
    bounded by MARKET_DATA_TICK_SECONDS) when a market_id is not given.

    Receivers of apps.market.events.candles_released react to each release (apps.signals enqueues
    the evaluations of the strategies that use the candles).
    """
    ticks = market_data_collect(market_id=market_id)
    moved = sum(tick.moved for tick in ticks)
    stopped = sum(tick.state == MarketFeed.State.STOPPED for tick in ticks)
    return f"{len(ticks)} feeds ticked, {moved} released candles, {stopped} stopped"
