from __future__ import annotations

from datetime import UTC, datetime

from django import template

register = template.Library()


@register.filter
def ms_datetime(value: int | None) -> datetime | None:
    """Epoch milliseconds (how adapters report times) as an aware UTC datetime for |date."""
    if value is None:
        return None
    return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
