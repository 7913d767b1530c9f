"""The exchange-neutral matching and account engine (one-way positions, USDT margin, Decimal everywhere).

Dialects (Binance, Gate) translate their wire formats into calls on :class:`Engine` and map
:class:`EngineError` reasons back to their own error codes. The engine never sees HTTP.

Fill model, per candle (``advance``) or price tick (``set_price``):

1. Conditional orders (SL/TP) whose trigger price lies inside the candle's range trigger. A candle that opens
   beyond the trigger (a gap) executes at the open; otherwise at the trigger price. Stop-type orders are
   processed before take-profit-type ones, so when both levels are inside one candle the stop-loss wins.
2. Resting limit orders whose price the candle's range reaches fill at their own price as makers.

Market orders (and marketable limits) fill at once at the current price plus the configured slippage, as
takers. There is no order book and no liquidation engine.
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Decimal
from enum import StrEnum

from apps.exchanges.emulator.candles import Candle, PriceFeed
from apps.exchanges.emulator.markets import MarketSpec

ZERO = Decimal(0)


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class OrderType(StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOP_MARKET = "STOP_MARKET"
    TAKE_PROFIT_MARKET = "TAKE_PROFIT_MARKET"
    STOP = "STOP"  # stop-limit
    TAKE_PROFIT = "TAKE_PROFIT"  # take-profit-limit


STOP_TYPES = {OrderType.STOP_MARKET, OrderType.STOP}
CONDITIONAL_TYPES = {OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET, OrderType.STOP, OrderType.TAKE_PROFIT}


class OrderStatus(StrEnum):
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"
    TRIGGERED = "TRIGGERED"  # conditional orders only: the order it placed is in ``child_id``


OPEN_STATUSES = {OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED}


class Reason(StrEnum):
    UNKNOWN_SYMBOL = "unknown symbol"
    BAD_QUANTITY = "quantity must be positive"
    QTY_STEP = "quantity is not a multiple of the step size"
    QTY_BELOW_MIN = "quantity below the minimum"
    QTY_ABOVE_MAX = "quantity above the maximum"
    PRICE_TICK = "price is not a multiple of the tick size"
    PRICE_INVALID = "price must be positive"
    MIN_NOTIONAL = "notional below the minimum"
    INSUFFICIENT_MARGIN = "margin is insufficient"
    REDUCE_ONLY_REJECTED = "reduce-only order would increase the position"
    REDUCE_ONLY_EMPTY = "reduce-only order with no position to reduce"
    UNKNOWN_ORDER = "unknown order"
    ORDER_FINAL = "order is already final"
    WOULD_TRIGGER_IMMEDIATELY = "trigger price already reached"
    LEVERAGE_INVALID = "leverage is not valid"
    POSITION_LIMIT = "position would exceed the maximum notional at this leverage"
    DUPLICATE_CLIENT_ID = "client order id is duplicated"
    MARGIN_MODE_UNCHANGED = "margin mode unchanged"
    MARGIN_MODE_POSITION_OPEN = "margin mode cannot change with an open position"
    MARGIN_MODE_ORDERS_OPEN = "margin mode cannot change with open orders"
    POST_ONLY_WOULD_TAKE = "post-only order would take"
    FOK_NOT_FILLED = "fill-or-kill order could not be filled"


class EngineError(Exception):
    def __init__(self, reason: Reason, detail: str = "") -> None:
        super().__init__(f"{reason.value}{': ' + detail if detail else ''}")
        self.reason = reason
        self.detail = detail


@dataclass
class Order:
    id: int
    client_id: str
    symbol: str
    side: Side
    type: OrderType
    qty: Decimal  # base units; 0 for close-position orders
    price: Decimal | None
    trigger_price: Decimal | None
    reduce_only: bool
    close_position: bool
    time_in_force: str
    conditional: bool
    created_ms: int
    updated_ms: int
    status: OrderStatus = OrderStatus.NEW
    filled: Decimal = ZERO
    cum_quote: Decimal = ZERO
    fee: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    finish_reason: str = ""  # why it ended: filled, cancelled, ioc, reduce_only, ...
    finished_ms: int | None = None
    triggered_ms: int | None = None
    child_id: int | None = None
    parent_id: int | None = None
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def remaining(self) -> Decimal:
        return self.qty - self.filled

    @property
    def avg_price(self) -> Decimal:
        return self.cum_quote / self.filled if self.filled else ZERO

    @property
    def trigger_rule(self) -> str:
        """'<=' when a falling price triggers it, '>=' when a rising one does."""
        is_stop = self.type in STOP_TYPES
        return (">=" if self.side is Side.BUY else "<=") if is_stop else ("<=" if self.side is Side.BUY else ">=")


@dataclass
class Fill:
    id: int
    order_id: int
    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    fee: Decimal
    realized_pnl: Decimal
    maker: bool
    time_ms: int


@dataclass
class Position:
    symbol: str
    leverage: int
    margin_mode: str = "cross"  # or "isolated"
    qty: Decimal = ZERO  # signed: long > 0, short < 0
    entry_price: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    opened_ms: int = 0
    updated_ms: int = 0


@dataclass(frozen=True)
class AccountSnapshot:
    asset: str
    wallet: Decimal
    unrealized_pnl: Decimal
    position_margin: Decimal
    order_margin: Decimal
    maint_margin: Decimal
    margin_balance: Decimal
    available: Decimal


@dataclass
class EngineConfig:
    balance: Decimal = Decimal(10_000)
    asset: str = "USDT"
    taker_fee: Decimal = Decimal("0.0005")
    maker_fee: Decimal = Decimal("0.0002")
    slippage: Decimal = ZERO  # fraction of the price, against the taker
    limit_fill_volume_fraction: Decimal | None = None  # None: resting limits fill completely when touched
    unique_open_client_ids: bool = True  # Binance rejects a client id that an open order already uses
    child_inherits_client_id: bool = False  # Gate: a triggered price order places its ``initial`` (incl. text)
    first_order_id: int = 4_000_000_000
    first_conditional_id: int = 1_000_000_000


def _sign(value: Decimal) -> int:
    return (value > 0) - (value < 0)


class Engine:
    def __init__(
        self,
        markets: dict[str, MarketSpec],
        feed: PriceFeed,
        config: EngineConfig | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.markets = markets
        self.feed = feed
        self.config = config or EngineConfig()
        self._clock = clock
        self.wallet = self.config.balance
        self.orders: dict[int, Order] = {}
        self.fills: list[Fill] = []
        self.positions: dict[str, Position] = {}
        self._order_ids = itertools.count(self.config.first_order_id)
        self._conditional_ids = itertools.count(self.config.first_conditional_id)
        self._fill_ids = itertools.count(1)

    # --- time, prices, lookups -------------------------------------------------------------------------
    def now_ms(self) -> int:
        return int(self._clock() * 1000)

    def spec(self, symbol: str) -> MarketSpec:
        try:
            return self.markets[symbol]
        except KeyError:
            raise EngineError(Reason.UNKNOWN_SYMBOL, symbol) from None

    def mark(self, symbol: str) -> Decimal:
        return self.feed.price(symbol)

    def position(self, symbol: str) -> Position:
        if symbol not in self.positions:
            self.positions[symbol] = Position(symbol=symbol, leverage=self.spec(symbol).default_leverage)
        return self.positions[symbol]

    def get_order(self, order_id: int, *, conditional: bool) -> Order:
        order = self.orders.get(order_id)
        if order is None or order.conditional != conditional:
            raise EngineError(Reason.UNKNOWN_ORDER, str(order_id))
        return order

    def find_by_client_id(self, client_id: str, *, conditional: bool) -> Order:
        for order in reversed(self.orders.values()):
            if order.client_id == client_id and order.conditional == conditional:
                return order
        raise EngineError(Reason.UNKNOWN_ORDER, client_id)

    def open_orders(self, symbol: str | None = None, *, conditional: bool | None = None) -> list[Order]:
        return [
            o
            for o in self.orders.values()
            if o.is_open
            and (symbol is None or o.symbol == symbol)
            and (conditional is None or o.conditional == conditional)
        ]

    # --- account ---------------------------------------------------------------------------------------
    def unrealized_pnl(self, pos: Position) -> Decimal:
        return pos.qty * (self.mark(pos.symbol) - pos.entry_price) if pos.qty else ZERO

    def position_margin(self, pos: Position) -> Decimal:
        return abs(pos.qty) * self.mark(pos.symbol) / pos.leverage

    def maint_margin(self, pos: Position) -> Decimal:
        notional = abs(pos.qty) * self.mark(pos.symbol)
        tier = self.spec(pos.symbol).tier_for_notional(notional)
        return max(ZERO, notional * tier.maint_margin_ratio - tier.cum) if tier and pos.qty else ZERO

    def order_margin(self, order: Order) -> Decimal:
        if not order.is_open or order.conditional or order.reduce_only or order.price is None:
            return ZERO
        return order.remaining * order.price / self.position(order.symbol).leverage

    def account(self) -> AccountSnapshot:
        positions = [p for p in self.positions.values() if p.qty]
        upnl = sum((self.unrealized_pnl(p) for p in positions), ZERO)
        cross_upnl = sum((self.unrealized_pnl(p) for p in positions if p.margin_mode == "cross"), ZERO)
        pos_margin = sum((self.position_margin(p) for p in positions), ZERO)
        order_margin = sum((self.order_margin(o) for o in self.orders.values()), ZERO)
        maint = sum((self.maint_margin(p) for p in positions), ZERO)
        return AccountSnapshot(
            asset=self.config.asset,
            wallet=self.wallet,
            unrealized_pnl=upnl,
            position_margin=pos_margin,
            order_margin=order_margin,
            maint_margin=maint,
            margin_balance=self.wallet + upnl,
            available=max(ZERO, self.wallet + cross_upnl - pos_margin - order_margin),
        )

    def liquidation_price(self, pos: Position) -> Decimal:
        """Binance's one-way formula; cross positions are backed by the wallet less the others' needs."""
        if not pos.qty:
            return ZERO
        size = abs(pos.qty)
        tier = self.spec(pos.symbol).tier_for_notional(size * pos.entry_price)
        mmr, cum = (tier.maint_margin_ratio, tier.cum) if tier else (ZERO, ZERO)
        if pos.margin_mode == "cross":
            others = [p for p in self.positions.values() if p.qty and p is not pos]
            wallet = self.wallet + sum((self.unrealized_pnl(p) - self.maint_margin(p) for p in others), ZERO)
        else:
            wallet = size * pos.entry_price / pos.leverage
        side = _sign(pos.qty)
        return max(ZERO, (wallet + cum - side * size * pos.entry_price) / (size * mmr - side * size))

    # --- settings --------------------------------------------------------------------------------------
    def set_leverage(self, symbol: str, leverage: int) -> Position:
        spec = self.spec(symbol)
        if not 1 <= leverage <= spec.max_leverage:
            raise EngineError(Reason.LEVERAGE_INVALID, f"{leverage} (max {spec.max_leverage})")
        pos = self.position(symbol)
        pos.leverage = leverage
        pos.updated_ms = self.now_ms()
        return pos

    def set_margin_mode(self, symbol: str, mode: str, *, strict: bool = True) -> Position:
        pos = self.position(symbol)
        if strict:
            if pos.margin_mode == mode:
                raise EngineError(Reason.MARGIN_MODE_UNCHANGED)
            if pos.qty:
                raise EngineError(Reason.MARGIN_MODE_POSITION_OPEN)
            if self.open_orders(symbol, conditional=False):
                raise EngineError(Reason.MARGIN_MODE_ORDERS_OPEN)
        pos.margin_mode = mode
        pos.updated_ms = self.now_ms()
        return pos

    # --- order entry -----------------------------------------------------------------------------------
    def place_order(
        self,
        *,
        symbol: str,
        side: Side,
        type: OrderType,
        qty: Decimal,
        price: Decimal | None = None,
        trigger_price: Decimal | None = None,
        reduce_only: bool = False,
        close_position: bool = False,
        time_in_force: str = "GTC",
        client_id: str | None = None,
        extra: dict[str, object] | None = None,
    ) -> Order:
        spec = self.spec(symbol)
        conditional = type in CONDITIONAL_TYPES
        self._validate_shape(spec, type, qty, price, trigger_price, close_position)
        if client_id and self.config.unique_open_client_ids and self._client_id_in_use(client_id):
            raise EngineError(Reason.DUPLICATE_CLIENT_ID, client_id)
        now = self.now_ms()
        order = Order(
            id=next(self._conditional_ids if conditional else self._order_ids),
            client_id=client_id or secrets.token_urlsafe(16)[:22],
            symbol=symbol,
            side=side,
            type=type,
            qty=qty,
            price=price,
            trigger_price=trigger_price,
            reduce_only=reduce_only or close_position,
            close_position=close_position,
            time_in_force=time_in_force,
            conditional=conditional,
            created_ms=now,
            updated_ms=now,
            extra=dict(extra or {}),
        )
        if conditional:
            if self._trigger_reached(order, self.mark(symbol)):
                raise EngineError(Reason.WOULD_TRIGGER_IMMEDIATELY, f"{order.trigger_rule} {trigger_price}")
            self.orders[order.id] = order
            return order
        self._check_entry(order, spec)
        self.orders[order.id] = order
        self._execute_new(order, self.mark(symbol))
        return order

    def _client_id_in_use(self, client_id: str) -> bool:
        return any(o.client_id == client_id and o.is_open for o in self.orders.values())

    def _validate_shape(
        self,
        spec: MarketSpec,
        type: OrderType,
        qty: Decimal,
        price: Decimal | None,
        trigger_price: Decimal | None,
        close_position: bool,
    ) -> None:
        if close_position and not qty:
            pass  # closes whatever position there is when it executes
        elif qty <= 0:
            raise EngineError(Reason.BAD_QUANTITY, str(qty))
        elif qty % spec.step_size:
            raise EngineError(Reason.QTY_STEP, f"{qty} step {spec.step_size}")
        elif qty < spec.min_qty:
            raise EngineError(Reason.QTY_BELOW_MIN, f"{qty} < {spec.min_qty}")
        elif qty > (spec.market_max_qty if type is OrderType.MARKET else spec.max_qty):
            raise EngineError(Reason.QTY_ABOVE_MAX, str(qty))
        for value in (price, trigger_price):
            if value is None:
                continue
            if value <= 0:
                raise EngineError(Reason.PRICE_INVALID, str(value))
            if value % spec.tick_size:
                raise EngineError(Reason.PRICE_TICK, f"{value} tick {spec.tick_size}")

    def _check_entry(self, order: Order, spec: MarketSpec) -> None:
        pos = self.position(order.symbol)
        ref = order.price if order.type is OrderType.LIMIT and order.price else self.mark(order.symbol)
        if order.close_position and not order.qty:
            if not pos.qty or _sign(pos.qty) == (1 if order.side is Side.BUY else -1):
                raise EngineError(Reason.REDUCE_ONLY_EMPTY)
            order.qty = abs(pos.qty)
            return
        if order.reduce_only:
            if not pos.qty:
                raise EngineError(Reason.REDUCE_ONLY_EMPTY)
            if _sign(pos.qty) == (1 if order.side is Side.BUY else -1):
                raise EngineError(Reason.REDUCE_ONLY_REJECTED)
            return
        if spec.min_notional and order.qty * ref < spec.min_notional:
            raise EngineError(Reason.MIN_NOTIONAL, f"{spec.min_notional}")
        if order.type is OrderType.LIMIT:
            marketable = self._marketable(order, self.mark(order.symbol))
            if order.time_in_force == "GTX" and marketable:
                raise EngineError(Reason.POST_ONLY_WOULD_TAKE)
            if order.time_in_force == "FOK" and not marketable:
                raise EngineError(Reason.FOK_NOT_FILLED)
        signed = order.qty if order.side is Side.BUY else -order.qty
        new_qty = pos.qty + signed
        limit = spec.max_notional_for_leverage(pos.leverage)
        if limit is not None and abs(new_qty) * ref > limit:
            raise EngineError(Reason.POSITION_LIMIT, f"max {limit} at {pos.leverage}x")
        if not pos.qty or _sign(new_qty) == _sign(pos.qty):
            increase = max(ZERO, abs(new_qty) - abs(pos.qty))
        else:
            increase = abs(new_qty)
        required = increase * ref / pos.leverage + order.qty * ref * self.config.taker_fee
        if required > self.account().available:
            raise EngineError(Reason.INSUFFICIENT_MARGIN, f"required {required:.8f}")

    def _execute_new(self, order: Order, price: Decimal) -> None:
        if order.type is OrderType.MARKET:
            self._fill(order, self._taker_price(order, price), maker=False)
            self._finish_taker(order)
        elif self._marketable(order, price):
            self._fill(order, price, maker=False)
            self._finish_taker(order)
        elif order.time_in_force in ("IOC", "FOK"):
            self._finish(order, OrderStatus.EXPIRED, "ioc")

    def _finish_taker(self, order: Order) -> None:
        if order.filled == order.qty:
            self._finish(order, OrderStatus.FILLED, "filled")
        elif order.is_open and (order.type is OrderType.MARKET or order.time_in_force in ("IOC", "FOK")):
            self._finish(order, OrderStatus.EXPIRED, order.finish_reason or "ioc")

    def _marketable(self, order: Order, price: Decimal) -> bool:
        assert order.price is not None
        return order.price >= price if order.side is Side.BUY else order.price <= price

    def _taker_price(self, order: Order, price: Decimal) -> Decimal:
        tick = self.spec(order.symbol).tick_size
        slip = price * self.config.slippage
        if order.side is Side.BUY:
            return ((price + slip) / tick).to_integral_value(ROUND_CEILING) * tick
        return ((price - slip) / tick).to_integral_value(ROUND_FLOOR) * tick

    # --- cancel ----------------------------------------------------------------------------------------
    def cancel_order(self, order: Order) -> Order:
        if not order.is_open:
            raise EngineError(Reason.ORDER_FINAL, str(order.id))
        self._finish(order, OrderStatus.CANCELED, "cancelled")
        return order

    def cancel_all(self, symbol: str, *, conditional: bool) -> list[Order]:
        return [self.cancel_order(o) for o in self.open_orders(symbol, conditional=conditional)]

    def _finish(self, order: Order, status: OrderStatus, reason: str) -> None:
        order.status = status
        order.finish_reason = reason
        order.finished_ms = order.updated_ms = self.now_ms()

    # --- fills -----------------------------------------------------------------------------------------
    def _fill(self, order: Order, price: Decimal, *, maker: bool, cap: Decimal | None = None) -> Decimal:
        qty = order.remaining if cap is None else min(order.remaining, cap)
        pos = self.position(order.symbol)
        if order.reduce_only:
            reducible = abs(pos.qty) if pos.qty and _sign(pos.qty) != (1 if order.side is Side.BUY else -1) else ZERO
            if qty > reducible:
                qty = reducible
                order.finish_reason = "reduce_only"
        if qty <= 0:
            if order.is_open and order.finish_reason == "reduce_only":
                self._finish(order, OrderStatus.EXPIRED, "reduce_only")
            return ZERO
        realized = self._apply_to_position(pos, order.side, qty, price)
        fee = qty * price * (self.config.maker_fee if maker else self.config.taker_fee)
        self.wallet += realized - fee
        now = self.now_ms()
        order.filled += qty
        order.cum_quote += qty * price
        order.fee += fee
        order.realized_pnl += realized
        order.updated_ms = now
        order.status = OrderStatus.FILLED if order.filled == order.qty else OrderStatus.PARTIALLY_FILLED
        if order.status is OrderStatus.FILLED:
            order.finish_reason, order.finished_ms = "filled", now
        self.fills.append(
            Fill(next(self._fill_ids), order.id, order.symbol, order.side, qty, price, fee, realized, maker, now)
        )
        return qty

    def _apply_to_position(self, pos: Position, side: Side, qty: Decimal, price: Decimal) -> Decimal:
        signed = qty if side is Side.BUY else -qty
        realized = ZERO
        now = self.now_ms()
        if not pos.qty or _sign(pos.qty) == _sign(signed):
            pos.entry_price = (abs(pos.qty) * pos.entry_price + qty * price) / (abs(pos.qty) + qty)
            if not pos.qty:
                pos.opened_ms = now
        else:
            closing = min(qty, abs(pos.qty))
            realized = closing * (price - pos.entry_price) * _sign(pos.qty)
            if qty > abs(pos.qty):
                pos.entry_price, pos.opened_ms = price, now
        pos.qty += signed
        if not pos.qty:
            pos.entry_price = ZERO
        pos.realized_pnl += realized
        pos.updated_ms = now
        return realized

    # --- the price feed drives orders ------------------------------------------------------------------
    def advance(self, steps: int = 1) -> list[Order]:
        """Advance the feed ``steps`` candles; return the orders that changed (triggered or filled)."""
        changed: list[Order] = []
        for _ in range(steps):
            for symbol, candle in self.feed.advance().items():
                if symbol in self.markets:
                    changed.extend(self.process_candle(symbol, candle))
        return changed

    def set_price(self, symbol: str, price: Decimal) -> list[Order]:
        self.spec(symbol)
        self.feed.set_price(symbol, price)
        return self.process_candle(symbol, Candle(self.feed.clock, price, price, price, price, ZERO))

    def process_candle(self, symbol: str, candle: Candle) -> list[Order]:
        changed: list[Order] = []
        for order in self._triggers_in_priority(symbol):
            hit, ref = self._trigger_hit(order, candle)
            if hit and order.is_open:
                changed.extend(self._trigger(order, ref, candle))
        touched = {o.id for o in changed}
        for order in self.open_orders(symbol, conditional=False):
            if order.type is OrderType.LIMIT and order.id not in touched and self._fill_resting(order, candle):
                changed.append(order)
        return changed

    def _triggers_in_priority(self, symbol: str) -> Iterator[Order]:
        pending = self.open_orders(symbol, conditional=True)
        # Stop-losses first: with only OHLC we cannot know which level a candle reached first, so assume the worst.
        yield from sorted(pending, key=lambda o: (o.type not in STOP_TYPES, o.id))

    def _trigger_reached(self, order: Order, price: Decimal) -> bool:
        assert order.trigger_price is not None
        return price <= order.trigger_price if order.trigger_rule == "<=" else price >= order.trigger_price

    def _trigger_hit(self, order: Order, candle: Candle) -> tuple[bool, Decimal]:
        assert order.trigger_price is not None
        level = order.trigger_price
        if order.trigger_rule == "<=":
            return candle.low <= level, candle.open if candle.open <= level else level
        return candle.high >= level, candle.open if candle.open >= level else level

    def _trigger(self, order: Order, ref: Decimal, candle: Candle) -> list[Order]:
        now = self.now_ms()
        order.triggered_ms = order.updated_ms = now
        pos = self.position(order.symbol)
        order_sign = 1 if order.side is Side.BUY else -1
        if order.reduce_only and (not pos.qty or _sign(pos.qty) == order_sign):
            # Nothing left to reduce (e.g. the other leg of an SL/TP pair already closed the position).
            self._finish(order, OrderStatus.CANCELED, "reduce_only")
            return [order]
        qty = abs(pos.qty) if order.close_position else order.qty
        limit_type = order.type in (OrderType.STOP, OrderType.TAKE_PROFIT)
        child = Order(
            id=next(self._order_ids),
            client_id=order.client_id if self.config.child_inherits_client_id else secrets.token_urlsafe(16)[:22],
            symbol=order.symbol,
            side=order.side,
            type=OrderType.LIMIT if limit_type else OrderType.MARKET,
            qty=qty,
            price=order.price if limit_type else None,
            trigger_price=order.trigger_price,
            reduce_only=order.reduce_only,
            close_position=order.close_position,
            time_in_force=order.time_in_force,
            conditional=False,
            created_ms=now,
            updated_ms=now,
            parent_id=order.id,
            extra={"orig_type": order.type.value, **order.extra},
        )
        if not order.reduce_only:
            try:
                self._check_entry(child, self.spec(order.symbol))
            except EngineError as exc:
                self._finish(order, OrderStatus.CANCELED, exc.reason.name.lower())
                return [order]
        self.orders[child.id] = child
        order.child_id = child.id
        order.status = OrderStatus.TRIGGERED
        order.finish_reason, order.finished_ms = "triggered", now
        if limit_type and not self._marketable(child, ref):
            self._fill_resting(child, candle)
        else:
            self._execute_new(child, ref)
        return [order, child]

    def _fill_resting(self, order: Order, candle: Candle) -> bool:
        assert order.price is not None
        touched = candle.low <= order.price if order.side is Side.BUY else candle.high >= order.price
        if not touched:
            return False
        cap = None
        if self.config.limit_fill_volume_fraction is not None:
            step = self.spec(order.symbol).step_size
            cap = (candle.volume * self.config.limit_fill_volume_fraction / step).to_integral_value(ROUND_DOWN) * step
        return self._fill(order, order.price, maker=True, cap=cap) > 0
