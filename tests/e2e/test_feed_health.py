"""Feed health in a browser: /markets/ shows each exchange feed live, lagging or stopped with the
reason, and the exchange filter narrows the feed table with the coverage table."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.market.models import MarketFeed
from tests.factories import MarketFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def exchange_feed(market: Any, *, closed_ago: timedelta, **fields: Any) -> MarketFeed:
    horizon = timezone.now() - closed_ago - timedelta(minutes=1)
    return MarketFeed.objects.create(
        market=market, timeframe="1m", source=MarketFeed.Source.EXCHANGE, horizon=horizon, **fields
    )


def test_the_markets_page_shows_each_feeds_health(page: Any, log_in: Any) -> None:
    exchange_feed(MarketFactory(symbol="BTC/USDT:USDT"), closed_ago=timedelta(seconds=20))
    exchange_feed(MarketFactory(symbol="ETH/USDT:USDT"), closed_ago=timedelta(minutes=9, seconds=45))
    exchange_feed(
        MarketFactory(symbol="SOL/USDT:USDT", exchange="gate"),
        closed_ago=timedelta(minutes=2),
        state=MarketFeed.State.STOPPED,
        state_reason="rate limited: RateLimitExceeded",
    )
    log_in(UserFactory(role="viewer"))

    page.goto("/markets/")

    table = page.locator("#feed-table")
    expect(table.locator("tr.feed-row")).to_have_count(3)
    expect(table.locator("tr[data-state=live]")).to_contain_text("BTC/USDT:USDT")
    expect(table.locator("tr[data-state=live] .feed-live")).to_contain_text("live: last candle")
    expect(table.locator("tr[data-state=lagging] .feed-lagging")).to_have_text("lagging: 8 candles behind")
    expect(table.locator("tr[data-state=stopped] .feed-stopped")).to_contain_text(
        "stopped: rate limited: RateLimitExceeded"
    )

    page.get_by_label("Exchange").select_option("gate")

    expect(table.locator("tr.feed-row")).to_have_count(1)
    expect(table.locator("tr.feed-row")).to_contain_text("SOL/USDT:USDT")
