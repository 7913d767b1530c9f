"""What the market app tells the apps above it. It imports none of them (see the import order in
pyproject.toml): they connect their receivers in their AppConfig.ready()."""

from __future__ import annotations

from django.dispatch import Signal

# Sent by apps.market.replay.feed_advance, inside the feed's transaction, when a feed released new
# candles; arguments: market (Market), timeframe (str), source (MarketFeed.Source: whose clock
# moved), horizon (datetime, the newest released open time). Receivers that start work in another
# process must defer it with transaction.on_commit.
candles_released = Signal()

# Sent by apps.market.replay.market_data_collect after each collection run, outside any transaction;
# arguments: ticks (list of FeedTick, every feed the run ticked, of every source). apps.traders checks
# the feeds' lag after it.
feeds_ticked = Signal()
