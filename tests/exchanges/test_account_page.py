"""The /exchanges/ page: filters, pagination that keeps the filters, the HTMX partial."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from apps.exchanges.services import exchange_account_create
from apps.market.models import MarketFeed
from tests.factories import MarketFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def page_client(viewer) -> Client:
    client = Client()
    client.force_login(viewer)
    return client


def test_filters_and_pages_keep_the_filters(page_client) -> None:
    for index in range(30):
        exchange_account_create(name=f"gate-{index:02d}", exchange="gate")
    exchange_account_create(name="binance-only", exchange="binanceusdm")
    first = page_client.get("/exchanges/", {"exchange": "gate"}).content.decode()
    assert "gate-00" in first and "binance-only" not in first
    assert "page 1 of 2" in first
    assert 'href="?exchange=gate&amp;page=2"' in first
    second = page_client.get("/exchanges/", {"exchange": "gate", "page": 2}).content.decode()
    assert "gate-29" in second and "gate-00" not in second


def test_htmx_gets_only_the_table(page_client) -> None:
    exchange_account_create(name="paper", exchange="binanceusdm")
    response = page_client.get("/exchanges/", {"q": "pap"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="account-table">')
    assert "paper" in body and "<nav" not in body


def feeds_of(market) -> None:
    """A replay feed and a running exchange feed on `market` whose last candle closed a minute ago."""
    MarketFeed.objects.create(market=market, timeframe="1m", source=MarketFeed.Source.REPLAY, horizon=REPLAYED_UP_TO)
    MarketFeed.objects.create(
        market=market, timeframe="1m", source=MarketFeed.Source.EXCHANGE, horizon=timezone.now() - timedelta(minutes=2)
    )


REPLAYED_UP_TO = datetime(2023, 4, 1, tzinfo=UTC)
COLLECTED_UP_TO = datetime(2026, 12, 4, 5, 0, tzinfo=UTC)


def test_a_replayed_paper_account_shows_its_source_and_only_the_replay_feeds(page_client) -> None:
    feeds_of(MarketFactory())
    account = exchange_account_create(name="desk", exchange="binanceusdm")
    page = page_client.get(f"/exchanges/{account.pk}/").content.decode()
    assert "replayed prices" in page and "Set in the admin or the API" in page
    assert "replay running, live up to 2023-04-01 00:00" in page
    assert "2026-12-04" not in page and "Exchange unreachable" not in page


def test_a_live_priced_paper_account_shows_the_exchange_feed(page_client) -> None:
    feeds_of(MarketFactory())
    account = exchange_account_create(name="desk", exchange="binanceusdm", price_source="live")
    page = page_client.get(f"/exchanges/{account.pk}/").content.decode()
    assert "live exchange prices" in page
    assert "live: last candle" in page and "closed 1 min ago" in page
    assert "2023-04-01" not in page and "Exchange unreachable" not in page
    listing = page_client.get("/exchanges/").content.decode()
    assert "live exchange prices" in listing


@pytest.mark.parametrize("stopped", [False, True], ids=["never collected", "collection stopped"])
def test_offline_a_live_priced_account_says_the_exchange_is_unreachable(page_client, stopped) -> None:
    market = MarketFactory()
    MarketFeed.objects.create(market=market, timeframe="1m", source=MarketFeed.Source.REPLAY, horizon=REPLAYED_UP_TO)
    if stopped:
        MarketFeed.objects.create(
            market=market,
            timeframe="1m",
            source=MarketFeed.Source.EXCHANGE,
            horizon=COLLECTED_UP_TO,
            state=MarketFeed.State.STOPPED,
            state_reason="exchange unreachable: NetworkError",
        )
    account = exchange_account_create(name="desk", exchange="binanceusdm", price_source="live")
    page = page_client.get(f"/exchanges/{account.pk}/").content.decode()
    assert 'id="exchange-silent"' in page and "Exchange unreachable:" in page
    assert "This account gets no new prices" in page
    assert ("stopped: exchange unreachable: NetworkError" in page) is stopped


def test_a_testnet_account_trades_on_exchange_prices_with_no_source_to_choose(page_client) -> None:
    feeds_of(MarketFactory())
    account = exchange_account_create(
        name="sandbox",
        exchange="binanceusdm",
        mode="testnet",
        secrets={"api_key": "testnet-key-value", "api_secret": "testnet-secret-value"},
    )
    page = page_client.get(f"/exchanges/{account.pk}/").content.decode()
    assert "exchange prices" in page and "Set in the admin" not in page
    assert "live: last candle" in page and "2023-04-01" not in page
