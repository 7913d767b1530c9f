"""SpotEngine: the Engine's order book and candle-driven fills, with asset balances instead of positions.

What differs from the futures engine:

- the account is a set of asset balances (``balances``: total per asset); an open order locks what it may
  spend (a buy: remaining x limit price in the quote asset; a sell: the remaining base), and an order that
  needs more than is free is refused (Reason.INSUFFICIENT_MARGIN, which the spot dialect answers with
  Binance's -2010 "Account has insufficient balance for requested action.");
- a fill moves base and quote; the commission is taken from what is received (the base asset on a buy, the
  quote asset on a sell), as Binance does without BNB fee payment; it is kept in ``order.fee`` with its asset
  in ``order.extra["commission_asset"]``;
- a conditional order (STOP_LOSS_LIMIT / TAKE_PROFIT_LIMIT, or their market forms) is one order from
  placement to fill, as on Binance spot: when a candle reaches its trigger it starts working in place
  (``triggered_ms`` set, same id and client id) as a limit (or market) order, filling at once when marketable,
  otherwise resting until a candle trades through its price. Orders share one id sequence.

No positions, leverage, margin or reduce-only.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from apps.exchanges.emulator.candles import Candle, PriceFeed
from apps.exchanges.emulator.engine import (
    CONDITIONAL_TYPES,
    ZERO,
    Engine,
    EngineConfig,
    EngineError,
    Fill,
    Order,
    OrderStatus,
    OrderType,
    Reason,
    Side,
)
from apps.exchanges.emulator.markets import MarketSpec

LIMIT_TYPES = {OrderType.LIMIT, OrderType.STOP, OrderType.TAKE_PROFIT}


class SpotEngine(Engine):
    def __init__(
        self,
        markets: dict[str, MarketSpec],
        feed: PriceFeed,
        config: EngineConfig | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(markets, feed, config, **({"clock": clock} if clock else {}))
        self._conditional_ids = self._order_ids  # spot: one id sequence for every order type
        assets = {s.base for s in markets.values()} | {s.quote for s in markets.values()}
        self.balances: dict[str, Decimal] = {asset: ZERO for asset in sorted(assets)}
        self.balances[self.config.asset] = self.config.balance

    # --- balances --------------------------------------------------------------------------------------
    def _lock(self, order: Order) -> tuple[str, Decimal]:
        spec = self.spec(order.symbol)
        if order.side is Side.SELL:
            return spec.base, order.remaining
        price = order.price if order.price is not None else self.mark(order.symbol)
        return spec.quote, order.remaining * price

    def locked(self, asset: str) -> Decimal:
        total = ZERO
        for order in self.open_orders():
            locked_asset, amount = self._lock(order)
            if locked_asset == asset:
                total += amount
        return total

    def free(self, asset: str) -> Decimal:
        return self.balances.get(asset, ZERO) - self.locked(asset)

    def _check_funds(self, symbol: str, side: Side, qty: Decimal, price: Decimal | None) -> None:
        spec = self.spec(symbol)
        if side is Side.SELL:
            asset, need = spec.base, qty
        else:
            asset, need = spec.quote, qty * (price if price is not None else self.mark(symbol))
        if need > self.free(asset):
            raise EngineError(Reason.INSUFFICIENT_MARGIN, f"{asset} needed {need} free {self.free(asset)}")

    # --- order entry -----------------------------------------------------------------------------------
    def place_order(self, **kwargs: Any) -> Order:
        if kwargs.get("reduce_only") or kwargs.get("close_position"):
            raise EngineError(Reason.REDUCE_ONLY_REJECTED, "spot")
        if kwargs["type"] in CONDITIONAL_TYPES and kwargs.get("qty"):
            spec = self.spec(kwargs["symbol"])
            price = kwargs.get("price") or kwargs.get("trigger_price")
            if spec.min_notional and price and kwargs["qty"] * price < spec.min_notional:
                raise EngineError(Reason.MIN_NOTIONAL, f"{spec.min_notional}")
            self._check_funds(kwargs["symbol"], kwargs["side"], kwargs["qty"], price)
        return super().place_order(**kwargs)

    def _check_entry(self, order: Order, spec: MarketSpec) -> None:
        ref = order.price if order.type is OrderType.LIMIT and order.price else self.mark(order.symbol)
        if spec.min_notional and order.qty * ref < spec.min_notional:
            raise EngineError(Reason.MIN_NOTIONAL, f"{spec.min_notional}")
        if order.type is OrderType.LIMIT and order.time_in_force == "GTX" and self._marketable(order, ref):
            raise EngineError(Reason.POST_ONLY_WOULD_TAKE)
        self._check_funds(order.symbol, order.side, order.qty, ref)

    # --- fills -----------------------------------------------------------------------------------------
    def _fill(self, order: Order, price: Decimal, *, maker: bool, cap: Decimal | None = None) -> Decimal:
        qty = order.remaining if cap is None else min(order.remaining, cap)
        if qty <= 0:
            return ZERO
        spec = self.spec(order.symbol)
        rate = self.config.maker_fee if maker else self.config.taker_fee
        quote = qty * price
        if order.side is Side.BUY:
            fee, fee_asset = qty * rate, spec.base
            self.balances[spec.quote] -= quote
            self.balances[spec.base] += qty - fee
        else:
            fee, fee_asset = quote * rate, spec.quote
            self.balances[spec.base] -= qty
            self.balances[spec.quote] += quote - fee
        now = self.now_ms()
        order.filled += qty
        order.cum_quote += quote
        order.fee += fee
        order.extra["commission_asset"] = fee_asset
        order.updated_ms = now
        order.status = OrderStatus.FILLED if order.filled == order.qty else OrderStatus.PARTIALLY_FILLED
        if order.status is OrderStatus.FILLED:
            order.finish_reason, order.finished_ms = "filled", now
        self.fills.append(
            Fill(next(self._fill_ids), order.id, order.symbol, order.side, qty, price, fee, ZERO, maker, now)
        )
        return qty

    # --- the price feed drives orders ------------------------------------------------------------------
    def process_candle(self, symbol: str, candle: Candle) -> list[Order]:
        changed: list[Order] = []
        for order in self._triggers_in_priority(symbol):
            if order.triggered_ms is not None or not order.is_open:
                continue
            hit, ref = self._trigger_hit(order, candle)
            if hit:
                changed.extend(self._trigger(order, ref, candle))
        touched = {o.id for o in changed}
        for order in self.open_orders(symbol):
            working_limit = order.type is OrderType.LIMIT or (
                order.type in LIMIT_TYPES and order.triggered_ms is not None
            )
            if working_limit and order.id not in touched and self._fill_resting(order, candle):
                changed.append(order)
        return changed

    def _trigger(self, order: Order, ref: Decimal, candle: Candle) -> list[Order]:
        """The order starts working in place: a limit one fills now if marketable, else rests; a market one fills."""
        order.triggered_ms = order.updated_ms = self.now_ms()
        if order.type in LIMIT_TYPES:
            if self._marketable(order, ref):
                self._fill(order, ref, maker=False)
            else:
                self._fill_resting(order, candle)
        else:
            self._fill(order, self._taker_price(order, ref), maker=False)
            if order.is_open:
                self._finish(order, OrderStatus.EXPIRED, "market")
        return [order]
