"""GET /api/v1/sentiment: an asset's rolling sentiment on a timeframe's closes, beside its market's
close price. The expected means are worked out by hand in each test from the scores it stores (the
rolling computation itself is checked against a reference loop in tests/news/test_rolling.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from apps.market.candles_io import datetime_to_ms
from apps.market.services import candle_series_import
from apps.market.timeframes import timeframe_ms
from tests.factories import MarketFactory, NewsItemFactory, NewsSourceFactory
from tests.market.helpers import series_of
from tests.news.helpers import scored

pytestmark = pytest.mark.django_db

URL = "/api/v1/sentiment"
T0 = datetime(2025, 12, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


def store_candles(market, first_open: datetime, closes: list[float], *, timeframe: str = "1h") -> None:
    step = timeframe_ms(timeframe)
    rows = [[datetime_to_ms(first_open) + i * step, c, c + 1, c - 1, c, 1.0] for i, c in enumerate(closes)]
    candle_series_import(market=market, timeframe=timeframe, series=series_of(rows), source="test")


@pytest.fixture
def btc(settings):
    """BTC headlines at T0+30m (0.6), T0+90m (-0.2, another source) and T0+150m (0.5); hourly
    candles of BTC/USDT:USDT opening T0-1h..T0+3h (closes 100..104); a window of 2 headlines."""
    settings.SENTIMENT_ANALYZER, settings.NEWS_SENTIMENT_WINDOW, settings.NEWS_SENTIMENT_MAX_AGE_HOURS = (
        "lexicon",
        2,
        24,
    )
    other = NewsSourceFactory(name="Other")
    scored(NewsItemFactory(published_at=T0 + HOUR / 2, assets=["BTC"]), 0.6)
    scored(NewsItemFactory(published_at=T0 + 1.5 * HOUR, assets=["BTC", "ETH"], source=other), -0.2)
    scored(NewsItemFactory(published_at=T0 + 2.5 * HOUR, assets=["BTC"]), 0.5)
    market = MarketFactory()
    store_candles(market, T0 - HOUR, [100, 101, 102, 103, 104])
    return market


def points(response) -> list[tuple[str, float | None, int, float | None]]:
    assert response.status_code == 200, response.content
    return [(p["time"][11:16], p["sentiment"], p["headlines"], p["close"]) for p in response.json()["points"]]


def test_the_series_runs_over_the_headlines_with_the_price_at_each_close(client, viewer, btc) -> None:
    client.force_login(viewer)

    response = client.get(URL, {"asset": "btc"})

    body = response.json()
    assert {key: body[key] for key in ("asset", "timeframe", "analyzer", "version", "window", "max_age_hours")} == {
        "asset": "BTC",
        "timeframe": "1h",
        "analyzer": "lexicon",
        "version": "tests-1",
        "window": 2,
        "max_age_hours": 24,
    }
    assert body["market"] == {
        "id": btc.pk,
        "exchange": "binanceusdm",
        "symbol": "BTC/USDT:USDT",
        "first_close": "2025-12-01T00:00:00Z",
        "last_close": "2025-12-01T04:00:00Z",
    }
    # From the close before the first headline to the close after the newest; the close at 03:00 is
    # the mean of the newest two (the window), -0.2 and 0.5.
    assert points(response) == [
        ("00:00", None, 0, 100.0),
        ("01:00", 0.6, 1, 101.0),
        ("02:00", pytest.approx(0.2), 2, 102.0),
        ("03:00", pytest.approx(0.15), 2, 103.0),
    ]
    assert body["points"][0]["time"] == "2025-12-01T00:00:00Z"


def test_source_label_and_range_filters_choose_the_headlines_and_the_closes(client, viewer, btc) -> None:
    client.force_login(viewer)
    other = NewsSourceFactory(name="Other")

    assert points(client.get(URL, {"asset": "BTC", "source": other.pk})) == [
        ("01:00", None, 0, 101.0),
        ("02:00", -0.2, 1, 102.0),
    ]
    assert points(client.get(URL, {"asset": "BTC", "label": "positive"}))[1:] == [
        ("01:00", 0.6, 1, 101.0),
        ("02:00", 0.6, 1, 102.0),
        ("03:00", pytest.approx(0.55), 2, 103.0),
    ]
    # Closes within [since, until], rounded inwards; a headline before `since` still counts.
    ranged = client.get(URL, {"asset": "BTC", "since": "2025-12-01T01:30:00Z", "until": "2025-12-01T06:00:00+01:00"})
    assert points(ranged) == [
        ("02:00", pytest.approx(0.2), 2, 102.0),
        ("03:00", pytest.approx(0.15), 2, 103.0),
        ("04:00", pytest.approx(0.15), 2, 104.0),
        ("05:00", pytest.approx(0.15), 2, None),
    ]


def test_another_timeframe_aligns_to_its_own_closes(client, viewer, btc) -> None:
    store_candles(btc, T0 - 4 * HOUR, [90, 91], timeframe="4h")
    client.force_login(viewer)

    assert points(client.get(URL, {"asset": "BTC", "timeframe": "4h"})) == [
        ("00:00", None, 0, 90.0),
        ("04:00", pytest.approx(0.15), 2, 91.0),
    ]


def test_an_asset_without_news_or_candles_gets_empty_values_not_an_error(client, viewer, btc) -> None:
    MarketFactory(symbol="SOL/USDT:USDT", base="SOL")
    client.force_login(viewer)

    eth = client.get(URL, {"asset": "ETH"}).json()
    sol = client.get(URL, {"asset": "SOL"}).json()

    # ETH: one headline, no market with candles.
    assert eth["market"] is None
    assert [(p["sentiment"], p["close"]) for p in eth["points"]] == [(None, None), (-0.2, None)]
    # SOL: a market without candles, no headline.
    assert (sol["market"], sol["points"]) == (None, [])


def test_unknown_assets_answer_404(client, viewer, btc) -> None:
    client.force_login(viewer)

    response = client.get(URL, {"asset": "DOGE"})

    assert response.status_code == 404
    assert response.json() == {"detail": "No headline mentions DOGE and no market trades it."}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({}, "asset"),
        ({"asset": "BTC/USDT"}, "asset"),
        ({"asset": "BTC", "timeframe": "2d"}, "timeframe"),
        ({"asset": "BTC", "label": "bullish"}, "label"),
        ({"asset": "BTC", "source": 0}, "source"),
        ({"asset": "BTC", "since": "2025-12-02T00:00", "until": "2025-12-01T00:00"}, "until"),
        ({"asset": "BTC", "since": "2025-01-01T00:00", "until": "2025-12-01T00:00"}, "until"),
        ({"asset": "BTC", "since": "0001-01-01T00:00:00+01:00"}, "since"),
    ],
)
def test_bad_filters_answer_422_naming_the_field(client, viewer, query: dict, field: str) -> None:
    client.force_login(viewer)

    response = client.get(URL, query)

    assert response.status_code == 422
    assert [error["loc"][-1] for error in response.json()["detail"]] == [field]


def test_a_range_of_too_many_closes_says_how_to_fix_it(client, viewer) -> None:
    client.force_login(viewer)

    response = client.get(URL, {"asset": "BTC", "since": "2025-01-01T00:00", "until": "2025-12-01T00:00"})

    assert response.json()["detail"][0]["msg"] == (
        "the range holds more than 1000 closes of 1h: shorten it or choose a longer timeframe"
    )
    assert (
        client.get(
            URL, {"asset": "BTC", "since": "2025-01-01T00:00", "until": "2025-12-01T00:00", "timeframe": "1d"}
        ).status_code
        != 422
    )


def test_a_long_history_keeps_the_newest_closes(client, viewer) -> None:
    scored(NewsItemFactory(published_at=T0, assets=["BTC"]), 0.4)
    scored(NewsItemFactory(published_at=T0 + 2000 * HOUR, assets=["BTC"]), -0.4)
    client.force_login(viewer)

    series = client.get(URL, {"asset": "BTC"}).json()["points"]

    assert len(series) == 1000
    assert (series[0]["time"], series[-1]["time"]) == ("2026-01-11T18:00:00Z", "2026-02-22T09:00:00Z")
    assert series[-1]["sentiment"] == -0.4


def test_a_bound_given_alone_keeps_the_headlines_other_bound(client, viewer, btc) -> None:
    client.force_login(viewer)

    until = points(client.get(URL, {"asset": "BTC", "until": "2025-12-01T02:00"}))
    since = points(client.get(URL, {"asset": "BTC", "since": "2025-12-01T01:00"}))

    assert [time for time, *_ in until] == ["00:00", "01:00", "02:00"]
    assert [time for time, *_ in since] == ["01:00", "02:00", "03:00"]
