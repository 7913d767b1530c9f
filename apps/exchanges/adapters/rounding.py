"""Order rounding and pre-flight checks against a market's filters (pure; no Django).

Rules:
- Amounts are floored to the step: a rounded order never exceeds the requested quantity.
- Prices are rounded to the tick so that the order is never worse for its side than requested:
  a BUY price is floored (never pay more), a SELL price is ceiled (never sell for less). For triggers
  this makes a stop-loss never looser than requested (a SELL stop protecting a long rounds up, a BUY
  stop protecting a short rounds down). Without a side, prices round to the nearest tick (half up).
- `check_order` refuses, before any request, what the exchange would reject: a non-positive amount,
  an amount or price off the step/tick grid, an amount below the minimum, a notional below the minimum.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from apps.exchanges.adapters.base import MarketRules, Side
from apps.exchanges.adapters.errors import InvalidOrder

ZERO = Decimal(0)


def _to_grid(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    if step <= ZERO:
        return value
    units = (value / step).to_integral_value(rounding=rounding)
    result = units * step
    # Keep the step's exponent so that str() shows "0.010", not "1.0E-2".
    exponent = step.as_tuple().exponent
    return result.quantize(step) if isinstance(exponent, int) and exponent < 0 else result


def round_amount(amount: Decimal, rules: MarketRules) -> Decimal:
    """Floor `amount` (base units) to the market's step."""
    return _to_grid(Decimal(amount), rules.step, ROUND_FLOOR)


def round_price(price: Decimal, rules: MarketRules, *, side: Side | None = None) -> Decimal:
    """Round `price` to the tick: BUY floors, SELL ceils, no side rounds to the nearest tick."""
    rounding = {Side.BUY: ROUND_FLOOR, Side.SELL: ROUND_CEILING, None: ROUND_HALF_UP}[side]
    return _to_grid(Decimal(price), rules.tick, rounding)


def round_to_tick(price: Decimal, tick: Decimal) -> Decimal:
    """The nearest price on the tick grid (for prices an operator or a model typed)."""
    return _to_grid(Decimal(price), tick, ROUND_HALF_UP)


def _on_grid(value: Decimal, step: Decimal) -> bool:
    return step <= ZERO or (value / step) == (value / step).to_integral_value()


def _fmt(value: Decimal) -> str:
    return format(value.normalize(), "f")


def check_order(
    amount: Decimal, price: Decimal | None, rules: MarketRules, *, reference_price: Decimal | None = None
) -> None:
    """Raise InvalidOrder with the reason when the (already rounded) order breaks the market's filters.

    `price` is the limit (or trigger) price and must sit on the tick grid. A market order passes
    price=None and the last trade as `reference_price`, used only for the minimum notional; with
    neither, the notional check is skipped."""
    if amount < rules.min_amount and amount >= ZERO:
        raise InvalidOrder(f"amount {_fmt(amount)} is below the minimum {_fmt(rules.min_amount)} {rules.base}")
    if amount <= ZERO:
        raise InvalidOrder(f"amount {_fmt(amount)} {rules.base} must be positive")
    if not _on_grid(amount, rules.step):
        raise InvalidOrder(f"amount {_fmt(amount)} {rules.base} is not a multiple of the step {_fmt(rules.step)}")
    if price is not None:
        if price <= ZERO:
            raise InvalidOrder(f"price {_fmt(price)} {rules.quote} must be positive")
        if not _on_grid(price, rules.tick):
            raise InvalidOrder(f"price {_fmt(price)} is not a multiple of the tick {_fmt(rules.tick)} {rules.quote}")
    basis = price if price is not None else reference_price
    if basis is None:
        return
    notional = amount * basis
    if notional < rules.min_notional:
        shown = notional.quantize(Decimal("0.01"), rounding=ROUND_FLOOR)
        raise InvalidOrder(f"notional {shown} {rules.quote} is below the minimum {_fmt(rules.min_notional)}")


def prepare_order(
    amount: Decimal,
    price: Decimal | None,
    rules: MarketRules,
    *,
    side: Side | None,
    reference_price: Decimal | None = None,
) -> tuple[Decimal, Decimal | None]:
    """Round amount and price, then check them; the values to send."""
    rounded_amount = round_amount(amount, rules)
    if amount > ZERO and rounded_amount < rules.min_amount:
        # Name the requested amount: "0.0004 is below the minimum 0.001", not "0 is below ...".
        raise InvalidOrder(f"amount {_fmt(amount)} is below the minimum {_fmt(rules.min_amount)} {rules.base}")
    rounded_price = round_price(price, rules, side=side) if price is not None else None
    check_order(rounded_amount, rounded_price, rules, reference_price=reference_price)
    return rounded_amount, rounded_price
