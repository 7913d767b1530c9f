"""What live collection needs from the apps above market, registered in their AppConfig.ready().

market imports none of them (see the import order in pyproject.toml), so they plug in here:

- followers: each returns the (market id, timeframe) pairs something above market follows. apps.signals
  registers its enabled strategies' markets and timeframe, apps.traders its non-stopped traders'.
  An operator follows a series with `manage.py follow_market` (MarketFeed.operator_follow).
- collectors: each ticks the feeds of one source that fetches its candles from elsewhere (apps.exchanges
  registers the exchange's) and returns their FeedTicks; `collect_market_data` runs them after the replay.

`followed_series` is what is worth collecting; a collector still decides which of those it can serve
(the exchange source only serves the exchanges that some account needs live prices from).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from apps.market.models import Market, MarketFeed

if TYPE_CHECKING:
    from apps.market.replay import FeedTick

# The shortest timeframe, which every collected market also follows: the paper exchange prices and
# fills from the shortest collected timeframe.
BASE_TIMEFRAME = "1m"

Series = tuple[int, str]
Follower = Callable[[], Iterable[Series]]
Collector = Callable[[], list["FeedTick"]]

_followers: list[Follower] = []
_collectors: list[Collector] = []


def follower_register(follower: Follower) -> None:
    """Idempotent, so that a second ready() (some test runners call it again) adds nothing."""
    if follower not in _followers:
        _followers.append(follower)


def collector_register(collector: Collector) -> None:
    """Idempotent, like follower_register."""
    if collector not in _collectors:
        _collectors.append(collector)


def followed_series() -> list[Series]:
    """Every (market id, timeframe) of an active market that a strategy, trader or operator follows,
    each followed market also on BASE_TIMEFRAME; sorted by market id, then timeframe."""
    followed: set[Series] = set()
    for follower in _followers:
        followed.update(follower())
    operator = MarketFeed.objects.filter(source=MarketFeed.Source.EXCHANGE, operator_follow=True)
    followed.update(operator.values_list("market_id", "timeframe"))
    active = set(Market.objects.filter(active=True, pk__in={pk for pk, _tf in followed}).values_list("pk", flat=True))
    followed = {(pk, timeframe) for pk, timeframe in followed if pk in active}
    followed.update((pk, BASE_TIMEFRAME) for pk in active)
    return sorted(followed)


def collectors_run() -> list[FeedTick]:
    """One tick of every registered collector, in registration order."""
    ticks: list[FeedTick] = []
    for collector in _collectors:
        ticks.extend(collector())
    return ticks
