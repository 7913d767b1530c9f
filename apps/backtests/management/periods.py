"""The --from / --to options of the backtest commands: dates or date-times in UTC, both inclusive."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from django.core.management.base import CommandError

TIME_FORMAT = "%Y-%m-%d %H:%M"


def _moment(text: str) -> tuple[datetime, bool]:
    """ISO date or date-time, naive meaning UTC; the flag says whether only a date was given."""
    try:
        if len(text) == len("YYYY-MM-DD"):
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=UTC), True
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{text!r} is not a date: use YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC)") from None
    return (moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)), False


def period_option(start: str | None, end: str | None) -> tuple[datetime | None, datetime | None]:
    """(first candle's open time, the open time the candles stay before): `end` is inclusive, so a
    date reaches through its whole day and a date-time just past that instant."""
    first = _moment(start)[0] if start else None
    stop = None
    if end:
        moment, whole_day = _moment(end)
        stop = moment + (timedelta(days=1) if whole_day else timedelta(microseconds=1))
    if first is not None and stop is not None and stop <= first:
        raise CommandError(f"--to ({end}) is before --from ({start})")
    return first, stop
