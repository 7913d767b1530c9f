"""The rolling sentiment (apps.news.rolling) against a slow, obviously correct loop on random data,
and the rules a trader relies on: only items published before the close, the newest K, none too old,
missing (NaN) rather than neutral when none counts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.news.rolling import rolling_sentiment
from tests.news.helpers import reference_rolling_sentiment

HOUR = 3_600_000


items = st.lists(
    st.tuples(st.integers(0, 200 * HOUR), st.floats(-1.0, 1.0, allow_nan=False)),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(
    items=items,
    moments=st.lists(st.integers(-HOUR, 210 * HOUR), max_size=40),
    window=st.integers(1, 15),
    max_age_hours=st.integers(1, 72),
)
def test_matches_the_reference_loop(items, moments, window, max_age_hours) -> None:
    # Half the moments land exactly on a publish time, the boundary the rule is about.
    moments = moments + [published for published, _score in items[::2]]
    items = sorted(items, key=lambda item: item[0])
    published = [p for p, _s in items]
    scores = [s for _p, s in items]

    result = rolling_sentiment(
        np.array(published, dtype=np.int64),
        np.array(scores),
        np.array(moments, dtype=np.int64),
        window=window,
        max_age_ms=max_age_hours * HOUR,
    )

    expected_values, expected_counts = reference_rolling_sentiment(
        published, scores, moments, window=window, max_age_ms=max_age_hours * HOUR
    )
    assert result.counts.tolist() == expected_counts
    np.testing.assert_allclose(result.values, expected_values, rtol=0, atol=1e-12, equal_nan=True)


def test_an_item_published_at_or_after_the_close_does_not_count() -> None:
    close = 10 * HOUR
    result = rolling_sentiment(
        np.array([close - 1, close, close + 1]),
        np.array([0.2, -1.0, -1.0]),
        np.array([close]),
        window=10,
        max_age_ms=HOUR,
    )

    assert result.values.tolist() == [0.2] and result.counts.tolist() == [1]


def test_the_newest_k_within_the_age() -> None:
    published = np.array([0, 1, 2, 3, 4]) * HOUR
    scores = np.array([1.0, 1.0, -0.5, 0.5, 0.3])
    close = 5 * HOUR

    newest_three = rolling_sentiment(published, scores, np.array([close]), window=3, max_age_ms=24 * HOUR)
    within_two_hours = rolling_sentiment(published, scores, np.array([close]), window=10, max_age_ms=2 * HOUR)

    assert newest_three.counts.tolist() == [3] and newest_three.values.tolist() == [pytest.approx(0.1)]
    # The 3h item is exactly 2 hours old: no older than the age, so it counts; the 2h one does not.
    assert within_two_hours.counts.tolist() == [2] and within_two_hours.values.tolist() == [pytest.approx(0.4)]


def test_no_item_is_missing_not_neutral() -> None:
    result = rolling_sentiment(
        np.array([], dtype=np.int64), np.array([]), np.array([HOUR, 2 * HOUR]), window=5, max_age_ms=HOUR
    )

    assert np.isnan(result.values).all() and result.counts.tolist() == [0, 0]


def test_opposite_scores_average_to_exactly_zero_whatever_came_before() -> None:
    """`sentiment > 0` must not fire on rounding: a close's value depends only on its own items."""
    rng = np.random.default_rng(7)
    history = np.sort(rng.integers(0, 100 * HOUR, 500))
    published = np.concatenate([history, [200 * HOUR, 200 * HOUR + 1]])
    scores = np.concatenate([rng.uniform(-1, 1, 500), [0.1, -0.1]])

    result = rolling_sentiment(published, scores, np.array([201 * HOUR]), window=2, max_age_ms=24 * HOUR)

    assert result.values.tolist() == [0.0]


@pytest.mark.parametrize(
    ("published", "scores", "window", "max_age_ms", "message"),
    [
        ([0], [0.1], 0, HOUR, "window 0 must be at least 1"),
        ([0], [0.1], 1, 0, "max age 0 ms must be positive"),
        ([0, 1], [0.1], 1, HOUR, "2 publish times but 1 scores"),
        ([5, 1], [0.1, 0.2], 1, HOUR, "sorted ascending"),
    ],
)
def test_bad_input_is_refused_with_the_reason(published, scores, window, max_age_ms, message) -> None:
    with pytest.raises(ValueError, match=message):
        rolling_sentiment(np.array(published), np.array(scores), np.array([HOUR]), window=window, max_age_ms=max_age_ms)
