"""An asset's rolling sentiment from the stored scores (apps.news.selectors.asset_sentiment_series):
items mentioning the asset, scored by the chosen analyzer in its current version, aligned to the
closes asked for, without reading an item published at or after a close."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.market.candles_io import datetime_to_ms
from apps.news.models import NewsSentiment
from apps.news.selectors import SentimentPoint, asset_sentiment_series
from tests.factories import NewsItemFactory
from tests.news.helpers import VERSION, scored_item

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 12, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_each_close_reads_the_items_published_before_it(settings) -> None:
    settings.SENTIMENT_ANALYZER = "lexicon"
    scored_item(T0 + 30 * timedelta(minutes=1), 0.6)
    scored_item(T0 + 90 * timedelta(minutes=1), -0.2)
    scored_item(T0 + 2 * HOUR, -1.0)  # exactly at the third close: not before it

    series = asset_sentiment_series(asset="btc", closes=[T0, T0 + HOUR, T0 + 2 * HOUR, T0 + 3 * HOUR])

    assert series.points == [
        SentimentPoint(T0, None, 0),
        SentimentPoint(T0 + HOUR, 0.6, 1),
        SentimentPoint(T0 + 2 * HOUR, pytest.approx(0.2), 2),
        SentimentPoint(T0 + 3 * HOUR, pytest.approx((0.6 - 0.2 - 1.0) / 3), 3),
    ]
    assert (series.asset, series.analyzer, series.version) == ("BTC", "lexicon", VERSION)


def test_a_headline_published_after_a_close_never_changes_that_close() -> None:
    for hour in range(6):
        scored_item(T0 + hour * HOUR + timedelta(minutes=10), 0.5)
    closes = [T0 + hour * HOUR for hour in range(1, 7)]
    before = asset_sentiment_series(asset="BTC", closes=closes)

    # Strongly negative, one millisecond after the third close.
    scored_item(closes[2] + timedelta(milliseconds=1), -1.0)
    after = asset_sentiment_series(asset="BTC", closes=closes)

    assert after.values[:3].tolist() == before.values[:3].tolist()
    assert after.counts[:3].tolist() == before.counts[:3].tolist()
    assert after.values[3] < before.values[3]  # the next close does read it


def test_only_the_asset_s_items_within_the_window_and_age(settings) -> None:
    settings.NEWS_SENTIMENT_WINDOW = 2
    settings.NEWS_SENTIMENT_MAX_AGE_HOURS = 3
    scored_item(T0, 1.0)  # 4 hours before the close: too old
    scored_item(T0 + HOUR, -0.4)  # outside the newest two
    scored_item(T0 + 2 * HOUR, 0.2, assets=("BTC", "ETH"))
    scored_item(T0 + 3 * HOUR, 0.6)
    scored_item(T0 + 3 * HOUR, -0.9, assets=("ETH",))
    scored_item(T0 + 3 * HOUR, -0.9, assets=())

    close = T0 + 4 * HOUR
    btc = asset_sentiment_series(asset="BTC", closes=[close])
    eth = asset_sentiment_series(asset="ETH", closes=[close])
    wider = asset_sentiment_series(asset="BTC", closes=[close], window=10, max_age_hours=24)

    assert btc.points == [SentimentPoint(close, pytest.approx(0.4), 2)]
    assert eth.points == [SentimentPoint(close, pytest.approx(-0.35), 2)]
    assert wider.points == [SentimentPoint(close, pytest.approx((1.0 - 0.4 + 0.2 + 0.6) / 4), 4)]


def test_the_analyzer_s_current_version_only(settings) -> None:
    settings.SENTIMENT_ANALYZER = "lexicon"
    old, new = T0 - HOUR, T0
    scored_item(T0 + 10 * timedelta(minutes=1), 0.8, version="v1", scored_at=old)
    rescored = scored_item(T0 + 20 * timedelta(minutes=1), 0.8, version="v1", scored_at=old)
    NewsSentiment.objects.create(
        item=rescored, analyzer="lexicon", version="v2", label="negative", score=-0.3, confidence=0.3, scored_at=new
    )
    scored_item(T0 + 30 * timedelta(minutes=1), 0.9, analyzer="vader", version="plain", scored_at=new)

    lexicon = asset_sentiment_series(asset="BTC", closes=[T0 + HOUR])
    vader = asset_sentiment_series(asset="BTC", closes=[T0 + HOUR], analyzer="vader")

    # v2 scored last: its one score counts; v1's are never mixed in.
    assert (lexicon.version, lexicon.points[0].value, lexicon.points[0].count) == ("v2", -0.3, 1)
    assert (vader.version, vader.points[0].value) == ("plain", 0.9)


def test_nothing_scored_is_missing_everywhere() -> None:
    NewsItemFactory(published_at=T0, assets=["BTC"])  # stored but not scored

    series = asset_sentiment_series(asset="BTC", closes=[T0 + HOUR, T0 + 2 * HOUR])

    assert series.version is None
    assert [(point.value, point.count) for point in series.points] == [(None, 0), (None, 0)]


def test_closes_as_milliseconds_and_one_query_for_the_scores() -> None:
    for hour in range(48):
        scored_item(T0 + hour * HOUR + timedelta(minutes=5), 0.1 if hour % 2 else -0.1)
    closes = np.array([datetime_to_ms(T0 + hour * HOUR) for hour in range(1, 49)], dtype=np.int64)

    with CaptureQueriesContext(connection) as queries:
        series = asset_sentiment_series(asset="BTC", closes=closes)

    assert len(queries) == 1  # every score of the range, the analyzer's current version within it
    assert series.closes_ms.tolist() == closes.tolist()
    assert series.counts.tolist() == [min(hour, 10) for hour in range(1, 49)]
    by_datetimes = asset_sentiment_series(asset="BTC", closes=[T0 + hour * HOUR for hour in range(1, 49)])
    assert by_datetimes.values.tolist() == series.values.tolist()


@pytest.mark.parametrize(("window", "max_age_hours"), [(0, 24), (10, 0), (-1, 5)])
def test_a_window_or_age_below_one_is_refused_naming_both(window, max_age_hours) -> None:
    with pytest.raises(ValueError, match=rf"window \({window}\) and max_age_hours \({max_age_hours}\)"):
        asset_sentiment_series(asset="BTC", closes=[T0], window=window, max_age_hours=max_age_hours)
