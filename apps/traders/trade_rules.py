"""Pure helpers of the trade state machine: client order ids and the preview's estimates (no Django).

Client order ids are deterministic (prefix, plan id, leg, attempt), so a worker resuming a plan
computes the id a crashed one may already have sent, and looks it up instead of sending again.
They stay inside every supported exchange's rules: Binance accepts 1–36 of ``[.A-Z:/a-z0-9_-]``,
Gate 28 bytes of ``[0-9A-Za-z_.-]`` after its ``t-`` prefix (which the ccxt adapter adds).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from apps.exchanges.adapters import paper_engine

LEG_CODES = {"entry": "en", "stop_loss": "sl", "take_profit": "tp", "exit": "ex"}
MAX_CLIENT_ID_LENGTH = 28  # Gate's limit, the tightest of the supported exchanges
CLIENT_ID_PATTERN = re.compile(r"^[0-9A-Za-z_.-]{1,28}$")


def client_order_id(*, prefix: str, plan_id: int, leg: str, attempt: int) -> str:
    """E.g. ``to-1234-sl2``: installation prefix, plan, leg, attempt."""
    value = f"{prefix}-{plan_id}-{LEG_CODES[leg]}{attempt}"
    if not CLIENT_ID_PATTERN.match(value):
        raise ValueError(f"client order id {value!r} breaks the exchanges' length or character rules")
    return value


def is_own_client_id(value: str | None, *, prefix: str) -> bool:
    """Whether an order on the exchange was sent by this installation (others are left alone)."""
    return bool(value) and re.match(rf"^{re.escape(prefix)}-\d+-(en|sl|tp|ex)\d+$", value or "") is not None


@dataclass(frozen=True)
class TradeEstimate:
    """What the trade ticket shows before anything is sent. Liquidation is for isolated margin only:
    under cross margin it depends on the whole account."""

    notional: Decimal
    fee_rate: Decimal
    entry_fee: Decimal
    margin: Decimal
    liquidation_price: Decimal | None
    loss_at_stop: Decimal | None  # price loss plus entry and exit fees
    gain_at_target: Decimal | None  # price gain less entry and exit fees

    def as_dict(self) -> dict[str, Any]:
        return {key: (str(value) if value is not None else None) for key, value in asdict(self).items()}


def trade_estimate(
    *,
    exchange: str,
    spot: bool,
    side: str,
    quantity: Decimal,
    price: Decimal,
    leverage: int,
    limit: bool,
    isolated: bool,
    stop_loss: Decimal | None,
    take_profit: Decimal | None,
) -> TradeEstimate:
    """Fees at the exchange's base tier (the paper exchange's rates): maker for a limit entry, taker
    for a market entry and for the protective exits, which are market orders once triggered."""
    taker = paper_engine.TAKER_FEE_RATE[exchange]
    entry_rate = paper_engine.MAKER_FEE_RATE[exchange] if limit else taker
    notional = paper_engine.q(quantity * price)
    entry_fee = paper_engine.fee(quantity, price, entry_rate)
    margin = notional if spot else paper_engine.initial_margin(quantity, price, leverage)
    position_side = paper_engine.LONG if side == paper_engine.BUY else paper_engine.SHORT
    liquidation = None
    if not spot and isolated:
        mmr = paper_engine.MAINTENANCE_MARGIN_RATE[exchange]
        liquidation = paper_engine.liquidation_price(position_side, price, leverage, mmr)
    direction = paper_engine.sign(side)

    def outcome(exit_price: Decimal | None) -> Decimal | None:
        if exit_price is None:
            return None
        gross = direction * quantity * (exit_price - price)
        return paper_engine.q(gross - entry_fee - paper_engine.fee(quantity, exit_price, taker))

    loss = outcome(stop_loss)
    return TradeEstimate(
        notional=notional,
        fee_rate=entry_rate,
        entry_fee=entry_fee,
        margin=margin,
        liquidation_price=liquidation,
        loss_at_stop=-loss if loss is not None else None,
        gain_at_target=outcome(take_profit),
    )


@dataclass(frozen=True)
class Fill:
    """What one execution of a plan filled: its leg, quantity, average price and fee, and when it was
    last recorded (the PnL's time of the fill)."""

    leg: str
    quantity: Decimal
    price: Decimal | None
    fee: Decimal
    fee_currency: str
    time: datetime | None = None


@dataclass(frozen=True)
class PlanResult:
    """A plan's outcome in the quote currency. `gross_pnl` and `realised_pnl` (gross less every fee
    of the plan) are None until part of the position is closed. A fee charged in neither the quote
    nor the base currency cannot be priced here: it is left out and `fees_complete` is False."""

    entry_quantity: Decimal
    closed_quantity: Decimal
    fees: Decimal
    gross_pnl: Decimal | None
    realised_pnl: Decimal | None
    fees_complete: bool


def plan_result(*, side: str, base: str, quote: str, fills: list[Fill]) -> PlanResult:
    """Entry fills at their volume-weighted price against the closing fills (exit, stop-loss,
    take-profit), for the closed quantity only; fees of every execution, entry and exits alike."""
    entries = [fill for fill in fills if fill.leg == "entry" and fill.quantity > 0 and fill.price is not None]
    exits = [fill for fill in fills if fill.leg != "entry" and fill.quantity > 0 and fill.price is not None]
    entry_quantity = sum((fill.quantity for fill in entries), Decimal(0))
    closed_quantity = sum((fill.quantity for fill in exits), Decimal(0))
    fees, complete = Decimal(0), True
    for fill in fills:
        if fill.fee_currency in ("", quote):
            fees += fill.fee
        elif fill.fee_currency == base and fill.price is not None:
            fees += fill.fee * fill.price  # a spot buy's fee taken in coins, priced at its fill
        elif fill.fee:
            complete = False
    if entry_quantity == 0 or closed_quantity == 0:
        return PlanResult(entry_quantity, closed_quantity, fees, None, None, complete)
    average_entry = sum((fill.quantity * fill.price for fill in entries), Decimal(0)) / entry_quantity
    exit_value = sum((fill.quantity * fill.price for fill in exits), Decimal(0))
    gross = paper_engine.sign(side) * (exit_value - average_entry * closed_quantity)
    return PlanResult(entry_quantity, closed_quantity, fees, gross, gross - fees, complete)
