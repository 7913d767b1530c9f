"""Numbers as a person reads them: prices at the market's tick, amounts at its step, money and
indicator values at two decimals. Pure (no Django, no domain app): callers pass the tick or step.

The API and the exports keep full precision; these helpers are for pages, error messages and
admin lists only. Prices and amounts get no thousands separator because operators copy them back
into the trade ticket; money and indicator values are read, not typed, so they get one.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from typing import Any

Number = Decimal | int | float | str
MONEY_PLACES = 2
INDICATOR_PLACES = 2
# A non-zero indicator value smaller than 0.01 (an SMA of a micro-priced coin) would read as 0.00;
# it keeps this many significant digits instead.
SMALL_VALUE_DIGITS = 4


def to_decimal(value: Number) -> Decimal | None:
    """The value as a finite Decimal (a float through its shortest repr), or None if it is not a number."""
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return None
    return number if number.is_finite() else None


def plain_number(value: Number) -> str:
    """Full precision without noise: 0.2 and 20000, not 0.200000000000 or 2E+4."""
    number = to_decimal(value)
    if number is None:
        raise ValueError(f"not a number: {value!r}")
    return _strip(number)


def at_increment(value: Number, increment: Number | None) -> str:
    """Rounded to the decimals of a tick or step (0.1 -> one decimal, 0.25 -> two), trailing zeros
    dropped: 20995.83 at tick 0.1 is "20995.8", 0.19 at step 0.001 is "0.19". Without an increment
    (an unknown market) the value is shown at full precision."""
    number = to_decimal(value)
    if number is None:
        raise ValueError(f"not a number: {value!r}")
    step = to_decimal(increment) if increment is not None else None
    if step is None or step <= 0:
        return _strip(number)
    places = max(0, -step.normalize().as_tuple().exponent)
    return _strip(_round(number, places))


def money(value: Number) -> str:
    """Two decimals with thousands separators: 1,998.08 and -0.50."""
    number = to_decimal(value)
    if number is None:
        raise ValueError(f"not a number: {value!r}")
    return f"{_round(number, MONEY_PLACES):,.{MONEY_PLACES}f}"


def indicator(value: Number) -> str:
    """Two decimals (an RSI of 23.96, an SMA of 20,995.80); a tiny non-zero value keeps four
    significant digits (0.0001235) rather than reading as 0.00."""
    number = to_decimal(value)
    if number is None:
        raise ValueError(f"not a number: {value!r}")
    rounded = _round(number, INDICATOR_PLACES)
    if rounded == 0 and number != 0:
        places = SMALL_VALUE_DIGITS - number.adjusted() - 1
        return _strip(_round(number, places))
    return f"{rounded:,.{INDICATOR_PLACES}f}"


def percent(fraction: Number) -> str:
    """A fraction as a percentage at two decimals: 0.666666 is "66.67 %"."""
    number = to_decimal(fraction)
    if number is None:
        raise ValueError(f"not a number: {fraction!r}")
    return f"{_round(number * 100, INDICATOR_PLACES):,.{INDICATOR_PLACES}f} %"


KINDS = ("price", "amount", "money", "indicator", "percent", "plain")
# Where a price or an amount finds its increment on a market (apps.market.models.Market, read by
# attribute name: core imports no domain app).
INCREMENT_FIELDS = {"price": "price_precision", "amount": "amount_precision"}


def shown(value: Number, kind: str, market: Any = None) -> str:
    """`value` as a `kind` of number: a price or an amount at `market`'s tick or step (full
    precision without a market), money, an indicator value, a fraction as a percentage, or plain."""
    if kind in INCREMENT_FIELDS:
        return at_increment(value, getattr(market, INCREMENT_FIELDS[kind], None))
    if kind == "money":
        return money(value)
    if kind == "indicator":
        return indicator(value)
    if kind == "percent":
        return percent(value)
    if kind == "plain":
        return plain_number(value)
    raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")


def _round(number: Decimal, places: int) -> Decimal:
    with localcontext() as context:
        context.prec = 60  # room for a 30-digit stored value at any tick
        rounded = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return rounded.copy_abs() if rounded == 0 else rounded  # never "-0.00"


def _strip(number: Decimal) -> str:
    text = format(number.normalize(), "f")
    return "0" if text == "-0" else text
