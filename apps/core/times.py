"""Filter times as the database compares them: aware, in UTC, within the years stored rows can have."""

from __future__ import annotations

from datetime import UTC, datetime

# The years a candle, a signal, a decision or a headline can have. A filter outside them selects
# nothing anyway, and converting an offset at year 1 or 9999 would leave any representable date.
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC)


def as_utc(moment: datetime) -> datetime:
    """The moment in UTC (a time without an offset is UTC already). PostgreSQL refuses some offsets a
    client may send (+23:50), so every filter time is converted before it reaches a query. Raises
    ValueError for a time with no UTC equivalent (year 1 at +14:00)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("is outside the years 1 to 9999 once moved to UTC") from None


def as_utc_within(moment: datetime) -> datetime | None:
    """The moment in UTC, or None outside [EARLIEST, LATEST)."""
    try:
        moment = as_utc(moment)
    except ValueError:
        return None
    return moment if EARLIEST <= moment < LATEST else None
