"""Reading list filters from a page's query string: a value that does not parse is ignored
(the filter is off), never an error, since pages carry hand-edited links."""

from __future__ import annotations

from datetime import datetime

from django.utils.dateparse import parse_date, parse_datetime

from apps.core.times import as_utc_within


def query_int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def query_moment(value: str | None) -> datetime | None:
    """A datetime-local or date field's text, read as UTC; None when blank, unreadable or out of range."""
    if not value:
        return None
    try:
        moment = parse_datetime(value)
        if moment is None and (day := parse_date(value)) is not None:
            moment = datetime(day.year, day.month, day.day)
    except ValueError:
        return None
    return as_utc_within(moment) if moment is not None else None
