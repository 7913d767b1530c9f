from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import format_html

from apps.core import numbers

register = template.Library()


@register.filter
def ms_datetime(value: int | None) -> datetime | None:
    """Epoch milliseconds (how adapters report times) as an aware UTC datetime for |date."""
    if value is None:
        return None
    return datetime.fromtimestamp(int(value) / 1000, tz=UTC)


# The replay's market clock moves in whole candles and a worker acts seconds after them: closer than
# this, the two clocks agree and the market time would only add noise.
MARKET_TIME_TOLERANCE = timedelta(minutes=2)


@register.simple_tag
def market_time(wall: datetime | None, market: datetime | None) -> str:
    """{% market_time event.at event.market_time %}: the market's time beside a wall-clock time, when a
    replay makes them differ (prices from 2023 traded today); nothing when they agree or it is unknown."""
    if wall is None or market is None or abs(wall - market) <= MARKET_TIME_TOLERANCE:
        return ""
    shown = date_format(timezone.localtime(market), "Y-m-d H:i")
    return format_html('<small class="market-time" title="Market time on the replay">market {}</small>', shown)


def _shown(value: Any, kind: str, market: Any = None) -> Any:
    """Empty for None (so `|default:"—"` applies); anything that is not a number as it is."""
    if value is None or value == "":
        return ""
    return numbers.shown(value, kind, market) if numbers.to_decimal(value) is not None else value


class _Increment:
    """A bare tick or step given to |price or |amount instead of a market ({{ p|price:tick }})."""

    def __init__(self, increment: Any):
        self.price_precision = self.amount_precision = increment


def _market(market: Any) -> Any:
    return market if hasattr(market, "price_precision") or not market else _Increment(market)


@register.filter
def price(value: Any, market: Any = None) -> Any:
    """{{ plan.stop_loss|price:plan.market }}: at the market's tick."""
    return _shown(value, "price", _market(market))


@register.filter
def amount(value: Any, market: Any = None) -> Any:
    """{{ plan.quantity|amount:plan.market }}: at the market's step."""
    return _shown(value, "amount", _market(market))


@register.filter
def money(value: Any) -> Any:
    """{{ balance.total|money }}: two decimals, thousands separators."""
    return _shown(value, "money")


@register.filter
def indicator(value: Any) -> Any:
    """{{ value|indicator }}: an indicator or ratio at two decimals."""
    return _shown(value, "indicator")


@register.filter
def percent(value: Any) -> Any:
    """{{ stats.win_rate|percent }}: a fraction (0 to 1) as a percentage at two decimals."""
    return _shown(value, "percent")
