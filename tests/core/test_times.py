"""Filter times: any offset becomes UTC; a time no stored row can have is refused or dropped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from apps.core.query import query_moment
from apps.core.times import as_utc, as_utc_within


def test_an_offset_is_converted_and_a_naive_time_is_utc() -> None:
    odd = timezone(timedelta(hours=23, minutes=50))

    assert as_utc(datetime(2024, 3, 1, 23, 55, tzinfo=odd)) == datetime(2024, 3, 1, 0, 5, tzinfo=UTC)
    assert as_utc(datetime(2024, 3, 1, 0, 5)) == datetime(2024, 3, 1, 0, 5, tzinfo=UTC)
    assert as_utc(datetime(2024, 3, 1, 23, 55, tzinfo=odd)).utcoffset() == timedelta(0)


def test_a_time_without_a_utc_equivalent_is_named() -> None:
    with pytest.raises(ValueError, match="outside the years 1 to 9999"):
        as_utc(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))))


def test_within_keeps_the_years_rows_can_have() -> None:
    assert as_utc_within(datetime(1969, 12, 31, 23, 59, tzinfo=UTC)) is None
    assert as_utc_within(datetime(9000, 1, 1, tzinfo=UTC)) is None
    assert as_utc_within(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1)))) is None
    assert as_utc_within(datetime(1970, 1, 1)) == datetime(1970, 1, 1, tzinfo=UTC)


def test_a_page_filter_reads_offsets_as_utc_and_ignores_what_it_cannot_read() -> None:
    assert query_moment("2024-03-01T23:55:00+23:50") == datetime(2024, 3, 1, 0, 5, tzinfo=UTC)
    assert query_moment("2024-03-01") == datetime(2024, 3, 1, tzinfo=UTC)
    assert query_moment("0001-01-01T00:00:00+01:00") is None
    assert query_moment("yesterday") is None
