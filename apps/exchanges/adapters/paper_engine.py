"""The paper exchange's fill, position and margin maths (pure; no Django), in Decimal.

Fill rules, kept the same as apps/backtests/engine.py so that paper trading and backtests agree:

- A market order fills at the latest price (the close of the newest released candle) moved
  against us by the slippage: a buy pays price × (1 + slip), a sell receives price × (1 − slip).
  Taker fee on the notional (amount × fill price).
- A resting limit order fills on a later candle that touches its price (buy: low <= price,
  sell: high >= price), at the limit price, without slippage, maker fee.
- A protective (stop-loss / take-profit) order fills on a candle that opens beyond its trigger
  at that open (a gap), otherwise on a candle that touches the trigger at the trigger; exit
  slippage applies to both (a long's stop at 95 with 2 bps fills at 95 × 0.9998); taker fee.
- Within one candle: gap fills first, stop-loss before take-profit, then touched levels, stop
  before target, then limits. A stop and a target both inside one bar: the stop wins (the
  bar's path is unknown; assume the worst).

Positions are one-way (one net position per symbol) with an average entry price. A fill on the
opposite side realises PnL on the closed part; beyond the position's size it flips.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

BPS = Decimal(10_000)
# Prices, amounts and money are stored with 12 decimal places (apps.market.models.PRICE_DIGITS);
# quantising here keeps what is returned equal to what is stored.
QUANTUM = Decimal("1e-12")
DEFAULT_SLIPPAGE_BPS = Decimal(2)  # the backtester's default slippage_bps

# Base-tier (VIP 0) fee rates. binanceusdm's 0.04 % taker is the rate the backtester assumes by
# default (fee_bps=4); gate's maker rate is its published USDT-perpetual base rate rounded up.
# Paper charges every fee in the quote currency (USDT), also on spot where Binance would take a
# buy's fee in the base asset.
TAKER_FEE_RATE = {"binanceusdm": Decimal("0.0004"), "gate": Decimal("0.0005"), "binance": Decimal("0.001")}
MAKER_FEE_RATE = {"binanceusdm": Decimal("0.0002"), "gate": Decimal("0.0002"), "binance": Decimal("0.001")}
# Maintenance margin rate of the lowest notional tier (Binance BTCUSDT 0.4 %, Gate 0.5 %). Higher
# tiers need the exchange's bracket table, which the paper exchange does not model.
MAINTENANCE_MARGIN_RATE = {"binanceusdm": Decimal("0.004"), "gate": Decimal("0.005"), "binance": Decimal(0)}

BUY, SELL = "buy", "sell"
LONG, SHORT = "long", "short"
STOP_LOSS, TAKE_PROFIT, LIMIT = "stop_loss", "take_profit", "limit"


def q(value: Decimal) -> Decimal:
    return value.quantize(QUANTUM)


def sign(side: str) -> int:
    """+1 for a buy or a long, −1 for a sell or a short."""
    return 1 if side in (BUY, LONG) else -1


def slipped(price: Decimal, side: str, slip: Decimal) -> Decimal:
    """`price` moved against the taker: up for a buy, down for a sell."""
    return q(price * (1 + sign(side) * slip))


def fee(amount: Decimal, price: Decimal, rate: Decimal) -> Decimal:
    return q(amount * price * rate)


def initial_margin(amount: Decimal, price: Decimal, leverage: int) -> Decimal:
    return q(amount * price / leverage)


@dataclass(frozen=True)
class PositionState:
    side: str | None  # LONG, SHORT, or None when flat
    amount: Decimal  # >= 0
    entry_price: Decimal  # 0 when flat

    @classmethod
    def flat(cls) -> PositionState:
        return cls(None, Decimal(0), Decimal(0))

    @property
    def signed(self) -> Decimal:
        return self.amount * sign(self.side) if self.side else Decimal(0)


@dataclass(frozen=True)
class FillEffect:
    position: PositionState
    realized_pnl: Decimal  # gross, before fees
    opened: bool  # a new position began (from flat, or by a flip)


def apply_fill(position: PositionState, side: str, amount: Decimal, price: Decimal) -> FillEffect:
    """The position after a fill of `amount` on `side` at `price` (one-way mode)."""
    direction = sign(side)
    if position.side is None or sign(position.side) == direction:
        new_amount = position.amount + amount
        entry = q((position.amount * position.entry_price + amount * price) / new_amount)
        return FillEffect(
            PositionState(LONG if direction > 0 else SHORT, new_amount, entry), Decimal(0), position.side is None
        )
    closed = min(amount, position.amount)
    realized = q(sign(position.side) * closed * (price - position.entry_price))
    rest = amount - closed
    if rest > 0:  # a flip: the remainder opens the other side at the fill price
        return FillEffect(PositionState(LONG if direction > 0 else SHORT, rest, price), realized, True)
    left = position.amount - closed
    if left == 0:
        return FillEffect(PositionState.flat(), realized, False)
    return FillEffect(PositionState(position.side, left, position.entry_price), realized, False)


def increase_of(position: PositionState, side: str, amount: Decimal) -> Decimal:
    """The part of an order on `side` that adds exposure (needs margin)."""
    if position.side is None or sign(position.side) == sign(side):
        return amount
    return max(Decimal(0), amount - position.amount)


def unrealized_pnl(position: PositionState, mark: Decimal) -> Decimal:
    if position.side is None:
        return Decimal(0)
    return q(sign(position.side) * position.amount * (mark - position.entry_price))


def liquidation_price(side: str, entry: Decimal, leverage: int, mmr: Decimal) -> Decimal:
    """Isolated margin, funding- and fee-free: the price where the position's margin
    (entry × amount / leverage) less the loss equals the maintenance margin (mmr × notional at entry).

    long:  entry × (1 − 1/leverage + mmr)
    short: entry × (1 + 1/leverage − mmr)
    """
    one = Decimal(1)
    if side == LONG:
        return q(entry * (one - one / leverage + mmr))
    return q(entry * (one + one / leverage - mmr))


@dataclass(frozen=True)
class Bar:
    open_time: int  # epoch ms
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal


def protective_trigger(kind: str, close_side: str, trigger: Decimal, bar: Bar) -> tuple[Decimal, bool] | None:
    """(level, at_open) when `bar` triggers the order, before slippage; None otherwise.

    `close_side` SELL protects a long: its stop lies below, its target above."""
    protects_long = close_side == SELL
    below = (kind == STOP_LOSS) == protects_long  # the level is under the price
    if below:
        if bar.open <= trigger:
            return bar.open, True
        if bar.low <= trigger:
            return trigger, False
    else:
        if bar.open >= trigger:
            return bar.open, True
        if bar.high >= trigger:
            return trigger, False
    return None


def limit_touched(side: str, price: Decimal, bar: Bar) -> bool:
    return bar.low <= price if side == BUY else bar.high >= price


def fill_priority(kind: str, at_open: bool) -> tuple[int, int]:
    """Sort key of the fills of one bar: the backtester's order of checks."""
    return (0 if at_open else 1, {STOP_LOSS: 0, TAKE_PROFIT: 1}.get(kind, 2))
