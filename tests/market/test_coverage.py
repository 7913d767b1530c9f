from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from apps.market import selectors, services
from apps.market.models import ExchangeId, Market
from tests.factories import MarketFactory
from tests.market.helpers import MINUTE, START, freqtrade_rows, series_of

pytestmark = pytest.mark.django_db


def load(market: Market, timeframe: str, rows: list[list], *, source: str = "file.json", synthetic: bool = False):
    return services.candle_series_import(
        market=market, timeframe=timeframe, series=series_of(rows), source=source, synthetic=synthetic
    )


def test_coverage_counts_bars_and_gaps_per_market_and_timeframe() -> None:
    btc = MarketFactory()
    eth = MarketFactory(symbol="ETH/USDT:USDT", base="ETH")
    empty = MarketFactory(symbol="SOL/USDT:USDT", base="SOL")
    load(btc, "1h", freqtrade_rows(10, skip=(2, 3, 7)), source="/data/old.json")
    load(btc, "1h", freqtrade_rows(3), source="/data/new.json")  # latest import wins the source column
    load(btc, "1m", freqtrade_rows(5, step=MINUTE, skip=(1,)), source="walk", synthetic=True)
    load(eth, "1h", freqtrade_rows(4))

    coverage = selectors.market_coverage(market_ids=[btc.pk, eth.pk, empty.pk])

    btc_1m, btc_1h = coverage[btc.pk]
    assert (btc_1m.timeframe, btc_1m.bars, btc_1m.gaps, btc_1m.synthetic, btc_1m.source) == ("1m", 4, 1, True, "walk")
    # The second import filled the 02:00 hole; 03:00 and 07:00 are still missing.
    assert (btc_1h.timeframe, btc_1h.bars, btc_1h.gaps, btc_1h.synthetic) == ("1h", 8, 2, False)
    assert (btc_1h.first_open_time, btc_1h.last_open_time) == (START, datetime(2024, 1, 1, 9, tzinfo=UTC))
    assert (btc_1h.source, btc_1h.source_name) == ("/data/new.json", "new.json")
    [eth_1h] = coverage[eth.pk]
    assert (eth_1h.bars, eth_1h.gaps) == (4, 0)
    assert empty.pk not in coverage


def test_coverage_page_lists_markets_with_a_synthetic_badge(client, viewer) -> None:
    btc = MarketFactory()
    MarketFactory(symbol="ETH/USDT:USDT", base="ETH")
    load(btc, "1h", freqtrade_rows(10, skip=(4,)), source="synthetic random walk, seed 1", synthetic=True)
    client.force_login(viewer)

    response = client.get(reverse("market:coverage"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "BTC/USDT:USDT" in html and "ETH/USDT:USDT" in html
    assert '<span class="badge synthetic"' in html
    assert "No candles yet." in html
    row = html[html.index("BTC/USDT:USDT") :]
    assert "2024-01-01 00:00" in row and "2024-01-01 09:00" in row
    assert '<td class="num">9</td>' in row and '<td class="num">1</td>' in row


def test_coverage_page_without_synthetic_data_shows_no_badge(client, viewer) -> None:
    load(MarketFactory(), "1h", freqtrade_rows(3))
    client.force_login(viewer)

    html = client.get(reverse("market:coverage")).content.decode()

    assert "badge synthetic" not in html


def test_coverage_page_filters_by_exchange_and_symbol(client, viewer) -> None:
    MarketFactory()
    MarketFactory(symbol="ETH/USDT:USDT", base="ETH")
    MarketFactory(exchange=ExchangeId.BINANCE, symbol="BTC/USDT", type=Market.Type.SPOT)
    client.force_login(viewer)

    spot = client.get(reverse("market:coverage"), {"exchange": "binance"}).content.decode()
    eth = client.get(reverse("market:coverage"), {"q": "eth"}).content.decode()

    assert "BTC/USDT" in spot
    assert "BTC/USDT:USDT" not in spot and "ETH/USDT:USDT" not in spot
    assert "ETH/USDT:USDT" in eth and "BTC/USDT" not in eth


def test_coverage_page_paginates_and_keeps_filters(client, viewer) -> None:
    for index in range(30):
        MarketFactory(symbol=f"C{index:02d}/USDT:USDT", base=f"C{index:02d}")
    client.force_login(viewer)

    first = client.get(reverse("market:coverage"), {"q": "C"}).content.decode()
    second = client.get(reverse("market:coverage"), {"q": "C", "page": 2}).content.decode()

    assert "page 1 of 2" in first and "C00/USDT:USDT" in first and "C29/USDT:USDT" not in first
    assert 'href="?q=C&amp;page=2"' in first
    assert "C29/USDT:USDT" in second and "C00/USDT:USDT" not in second


def test_htmx_request_gets_only_the_tables(client, viewer) -> None:
    client.force_login(viewer)

    html = client.get(reverse("market:coverage"), headers={"HX-Request": "true"}).content.decode()

    assert html.lstrip().startswith('<div id="market-tables">')
    assert '<div id="coverage-table">' in html and '<table id="feed-table">' in html and "<nav" not in html


def test_coverage_page_needs_a_login(client) -> None:
    response = client.get(reverse("market:coverage"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
