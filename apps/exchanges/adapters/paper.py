"""The paper exchange: ExchangeAdapter over stored candles and database state, no network.

    adapter = PaperAdapter(account)          # account.mode == "paper"
    paper_accounts_process_candles()         # the worker, on each new candle

Prices: each account follows the MarketFeed of its price source (ExchangeAccount.feed_source): the
replay of stored candles, or the exchange's candles as live collection stores them. The latest
price of a market is the close of the newest candle that feed released, on the market's shortest
timeframe; no released candle, no price. Orders fill on released candles only, on either source, so
a live-priced account fills exactly as the backtester would over the same candles: a market order at
the newest close (the ticker), resting orders on the candles released after them. Marks (positions'
mark price, unrealised PnL, free margin) follow the exchange's last trade price on live prices, when
live collection cached one newer than that candle's close (apps.market.selectors.market_last_price),
else that close. Fill, fee and margin maths are in paper_engine (pure), with the backtester's rules
(see its docstring).

When resting orders are looked at: an order placed while the horizon is candle h is checked on
candles opening after h. A market fill at h's close opened the position in candle h, so its stop
and target are checked from candle h+1 on, as on a real exchange (and the exchange emulator) and
as the backtester's fill="close" mode does (apps/backtests/engine.py). A limit entry filled during
candle c opened the position in c.

Reduce-only: a reduce-only order must close part of an open position on the other side and is
clipped to the position's size; at placement an order that would open or increase is refused
(InvalidOrder). A protective or reduce-only limit order that triggers when there is no position
left to reduce (e.g. the target after the stop filled) is EXPIRED with a reason. The adapter
never cancels the sibling protective order by itself: that is the trade state machine's job.

Balance (USDT, the only currency):
    total (wallet) = starting balance + realised PnL − fees
    used  = Σ positions amount × entry / leverage + Σ open non-reduce-only limit orders amount × price / leverage
    free  = total + Σ unrealised PnL at the latest price − used
An order needs free >= (the part that adds exposure) × price / leverage + its taker fee, or
InsufficientFunds. Spot (binance) is the same with leverage 1 and no shorts: a sell beyond the
held amount is InsufficientFunds.

Liquidation price: isolated margin only, paper_engine.liquidation_price (funding and fees
ignored, the lowest-tier maintenance margin rate); cross margin reports None, because it
depends on every other position of the account.

Concurrency: every write runs in one transaction that first locks the account's
PaperAccountState row (select_for_update; on SQLite the IMMEDIATE transaction mode serialises
writers anyway), so two workers processing the same candle cannot fill an order twice; a candle
is processed at most once per position (PaperPosition.processed_through).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Min

from apps.exchanges.adapters import paper_engine as engine
from apps.exchanges.adapters.base import (
    Balance,
    ExchangeAdapter,
    MarginMode,
    MarketRules,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    PositionSide,
    ProtectionKind,
    ProtectiveOrderRequest,
    Side,
    Ticker,
)
from apps.exchanges.adapters.errors import ExchangeUnavailable, InsufficientFunds, InvalidOrder, OrderNotFound
from apps.exchanges.adapters.rounding import check_order
from apps.exchanges.models import (
    ExchangeAccount,
    PaperAccountState,
    PaperFill,
    PaperOrder,
    PaperPosition,
)
from apps.market.arrays import CandleArrays
from apps.market.candles_io import datetime_to_ms, ms_to_datetime
from apps.market.models import MAX_LEVERAGE, Candle, CandleSeriesStats, Market, MarketFeed
from apps.market.selectors import candle_arrays, feed_horizon, market_last_price
from apps.market.timeframes import TIMEFRAME_MS

QUOTE = "USDT"
ZERO = Decimal(0)


class PaperAdapter(ExchangeAdapter):
    """The exchange behind a `paper` ExchangeAccount. Cheap to construct; all state is in the database."""

    def __init__(self, account: ExchangeAccount, *, slippage_bps: Decimal | int | str = engine.DEFAULT_SLIPPAGE_BPS):
        if account.mode != ExchangeAccount.Mode.PAPER:
            raise ValueError(f"PaperAdapter serves paper accounts only; {account.name} is {account.mode}")
        self.account = account
        self.slip = Decimal(slippage_bps) / engine.BPS
        self.taker_rate = engine.TAKER_FEE_RATE[account.exchange]
        self.maker_rate = engine.MAKER_FEE_RATE[account.exchange]
        self.mmr = engine.MAINTENANCE_MARGIN_RATE[account.exchange]
        self._markets: dict[str, Market] = {}

    @classmethod
    def for_account(cls, account: ExchangeAccount) -> PaperAdapter:
        return cls(account)

    # --- market data -------------------------------------------------------------------------

    def load_markets(self) -> list[MarketRules]:
        markets = Market.objects.filter(exchange=self.account.exchange, active=True).order_by("symbol")
        return [self._rules(market) for market in markets]

    def fetch_ticker(self, symbol: str) -> Ticker:
        market = self._market(symbol)
        candle, _ = self._latest_candle(market)
        return Ticker(symbol=symbol, last=candle.close, bid=None, ask=None, timestamp=datetime_to_ms(candle.open_time))

    def fetch_ohlcv(self, symbol: str, timeframe: str, *, since: int, limit: int) -> CandleArrays:
        market = self._market(symbol)
        horizon = self._horizon(market, timeframe)
        if horizon is None or limit <= 0:
            return candle_arrays(
                market=market, timeframe=timeframe, start=ms_to_datetime(since), end=ms_to_datetime(since)
            )
        candles = candle_arrays(
            market=market,
            timeframe=timeframe,
            start=ms_to_datetime(since),
            end=horizon + timedelta(milliseconds=1),
        )
        return candles.slice(0, limit)

    # --- account -----------------------------------------------------------------------------

    def mark_price(self, symbol: str) -> Decimal:
        """The price the account's positions are marked at (see _mark). Raises ExchangeUnavailable."""
        return self._mark(self._market(symbol))

    def fetch_balance(self) -> list[Balance]:
        state = self._state()
        total, free, used = self._balance(state)
        return [Balance(currency=QUOTE, total=total, free=free, used=used)]

    def fetch_positions(self, symbols: list[str] | None = None) -> list[Position]:
        rows = PaperPosition.objects.filter(account=self.account, amount__gt=0).select_related("market")
        if symbols is not None:
            rows = rows.filter(market__symbol__in=symbols)
        return [self._position(row) for row in rows.order_by("market__symbol")]

    def set_leverage(self, symbol: str, leverage: int) -> None:
        market = self._market(symbol)
        top = self._rules(market).max_leverage or MAX_LEVERAGE
        if not 1 <= leverage <= top:
            raise InvalidOrder(f"leverage {leverage} is outside 1..{top} for {symbol}")
        with transaction.atomic():
            self._lock()
            row = self._position_row(market)
            row.leverage = leverage
            row.save(update_fields=["leverage", "updated_at"])

    def set_margin_mode(self, symbol: str, mode: MarginMode) -> None:
        market = self._market(symbol)
        with transaction.atomic():
            self._lock()
            row = self._position_row(market)
            # Binance refuses the change with a position or open orders (-4048); so does paper.
            if row.amount > 0 or self._open_orders(market).exists():
                raise InvalidOrder(f"cannot change the margin mode of {symbol} with an open position or orders")
            row.margin_mode = MarginMode(mode).value
            row.save(update_fields=["margin_mode", "updated_at"])

    # --- orders ------------------------------------------------------------------------------

    def create_order(self, request: OrderRequest) -> Order:
        market = self._market(request.symbol)
        rules = self._rules(market)
        side = Side(request.side).value
        if request.type == OrderType.LIMIT:
            if request.price is None:
                raise InvalidOrder("a limit order needs a price")
            check_order(request.amount, request.price, rules)
        else:
            last = self._latest_candle(market)[0].close
            check_order(request.amount, None, rules, reference_price=None if request.reduce_only else last)
        with transaction.atomic():
            state = self._lock()
            self._refuse_duplicate(request.client_order_id)
            candle, _timeframe = self._latest_candle(market)
            row = self._position_row(market, horizon=candle.open_time)
            position = _state_of(row)
            amount = self._reduce_only_amount(row, side, request.amount) if request.reduce_only else request.amount
            self._check_spot(market, position, side, amount)
            price = request.price if request.type == OrderType.LIMIT else candle.close
            self._check_margin(state, row, side, amount, price)
            order = self._insert_order(
                market=market,
                client_order_id=request.client_order_id,
                side=side,
                type=PaperOrder.Type.MARKET if request.type == OrderType.MARKET else PaperOrder.Type.LIMIT,
                amount=amount,
                price=request.price if request.type == OrderType.LIMIT else None,
                reduce_only=request.reduce_only,
                created_candle_time=candle.open_time,
            )
            taker_price = engine.slipped(candle.close, side, self.slip)
            # Filled at h's close: the position is open from candle h+1 on, where its stop is checked.
            opened_in = candle.open_time
            if request.type == OrderType.MARKET:
                self._fill(state, row, order, taker_price, PaperFill.Liquidity.TAKER, None, opened_in)
            elif (side == engine.BUY and request.price >= candle.close) or (
                side == engine.SELL and request.price <= candle.close
            ):
                # A marketable limit order takes liquidity now, at the market fill price capped by its limit.
                fill_price = min(taker_price, request.price) if side == engine.BUY else max(taker_price, request.price)
                self._fill(state, row, order, fill_price, PaperFill.Liquidity.TAKER, None, opened_in)
            return paper_order_value(order)

    def create_protective_order(self, request: ProtectiveOrderRequest) -> Order:
        market = self._market(request.symbol)
        rules = self._rules(market)
        side = Side(request.side).value
        # The trigger must sit on the tick grid; the notional minimum does not apply to reduce-only orders.
        check_order(request.amount, request.trigger_price, dataclasses.replace(rules, min_notional=ZERO))
        with transaction.atomic():
            self._lock()
            self._refuse_duplicate(request.client_order_id)
            candle, _ = self._latest_candle(market)
            row = self._position_row(market, horizon=candle.open_time)
            amount = self._reduce_only_amount(row, side, request.amount)
            order = self._insert_order(
                market=market,
                client_order_id=request.client_order_id,
                side=side,
                type=ProtectionKind(request.kind).value,
                amount=amount,
                price=None,
                trigger_price=request.trigger_price,
                reduce_only=True,
                created_candle_time=candle.open_time,
            )
            return paper_order_value(order)

    def cancel_order(self, symbol: str, *, order_id: str, protective: bool = False) -> Order:
        """Cancel an open order. Cancelling an order that is no longer open returns it unchanged."""
        market = self._market(symbol)
        with transaction.atomic():
            self._lock()
            order = self._orders(market, protective).filter(pk=_pk(order_id)).first()
            if order is None:
                raise OrderNotFound(f"no {'protective ' if protective else ''}order {order_id} on {symbol}")
            if order.status == PaperOrder.Status.OPEN:
                order.status = PaperOrder.Status.CANCELED
                order.save(update_fields=["status", "updated_at"])
            return paper_order_value(order)

    def fetch_order_by_client_id(self, symbol: str, client_order_id: str, *, protective: bool = False) -> Order | None:
        order = self._orders(self._market(symbol), protective).filter(client_order_id=client_order_id).first()
        return paper_order_value(order) if order else None

    def fetch_open_orders(self, symbol: str | None = None) -> list[Order]:
        orders = PaperOrder.objects.filter(account=self.account, status=PaperOrder.Status.OPEN).select_related("market")
        if symbol is not None:
            orders = orders.filter(market=self._market(symbol))
        return [paper_order_value(order) for order in orders.order_by("created_at", "id")]

    # --- candles -----------------------------------------------------------------------------

    def process_candle(self, symbol: str, candle: engine.Bar) -> list[Order]:
        """Check this account's resting orders on `symbol` against one newly released candle.

        Idempotent: a candle at or before the position's processed_through is ignored. Returns the
        orders that filled or expired."""
        market = self._market(symbol)
        candle_time = ms_to_datetime(candle.open_time)
        with transaction.atomic():
            state = self._lock()
            row = self._position_row(market)
            if row.processed_through is not None and candle_time <= row.processed_through:
                return []
            changed = self._evaluate(state, row, market, candle, candle_time)
            row.processed_through = candle_time
            row.save(update_fields=["processed_through", "updated_at"])
            return changed

    def sync(self) -> list[Order]:
        """Process every released candle not yet processed, on every market with open orders."""
        changed: list[Order] = []
        market_ids = set(
            PaperOrder.objects.filter(account=self.account, status=PaperOrder.Status.OPEN)
            .order_by()  # a set: no ordering (its default joins the account)
            .values_list("market_id", flat=True)
        )
        for market in Market.objects.filter(pk__in=market_ids).order_by("symbol"):
            timeframe = self._price_timeframe(market)
            if timeframe is None:
                continue
            horizon = self._horizon(market, timeframe)
            row = PaperPosition.objects.filter(account=self.account, market=market).first()
            if horizon is None or row is None:
                continue
            since = self._unprocessed_since(market, row)
            candles = Candle.objects.filter(market=market, timeframe=timeframe, open_time__lte=horizon)
            if since is not None:
                candles = candles.filter(open_time__gt=since)
            for open_time, o, h, low, c in candles.order_by("open_time").values_list(
                "open_time", "open", "high", "low", "close"
            ):
                changed += self.process_candle(market.symbol, engine.Bar(datetime_to_ms(open_time), o, h, low, c))
        return changed

    def _unprocessed_since(self, market: Market, row: PaperPosition) -> datetime | None:
        """The candle after which `sync` must look: the position's processed_through, but never before
        the oldest open order's candle, since a candle only fills orders created before it. A row made
        by set_leverage or set_margin_mode has no processed_through, and its first sync used to walk
        every stored candle, one transaction each (seconds per account on a long history)."""
        oldest = self._open_orders(market).aggregate(oldest=Min("created_candle_time"))["oldest"]
        marks = [mark for mark in (row.processed_through, oldest) if mark is not None]
        return max(marks) if marks else None

    # --- internals: evaluation ----------------------------------------------------------------

    def _evaluate(
        self, state: PaperAccountState, row: PaperPosition, market: Market, bar: engine.Bar, candle_time: datetime
    ) -> list[Order]:
        candidates = []
        for order in self._open_orders(market).filter(created_candle_time__lt=candle_time):
            if order.type in PaperOrder.PROTECTIVE_TYPES:
                hit = engine.protective_trigger(order.type, order.side, order.trigger_price, bar)
                if hit is None:
                    continue
                level, at_open = hit
                candidates.append((engine.fill_priority(order.type, at_open), order.pk, order, level))
            elif engine.limit_touched(order.side, order.price, bar):
                candidates.append((engine.fill_priority(engine.LIMIT, False), order.pk, order, order.price))
        changed = []
        for _, _, order, level in sorted(candidates, key=lambda item: item[:2]):
            protective = order.type in PaperOrder.PROTECTIVE_TYPES
            if protective and row.amount > 0 and candle_time <= row.opened_candle_time:
                # Not on the candle the position was opened in: its range came before the fill.
                continue
            if order.reduce_only:
                closes = row.amount > 0 and engine.sign(row.side) != engine.sign(order.side)
                if not closes:
                    order.status = PaperOrder.Status.EXPIRED
                    order.status_reason = "reduce-only order triggered with no position to reduce"
                    order.save(update_fields=["status", "status_reason", "updated_at"])
                    changed.append(paper_order_value(order))
                    continue
                if order.amount > row.amount:
                    order.amount = row.amount  # clipped to what is left to close
            if protective:
                price = engine.slipped(level, order.side, self.slip)
                self._fill(state, row, order, price, PaperFill.Liquidity.TAKER, candle_time, candle_time)
            else:
                self._fill(state, row, order, level, PaperFill.Liquidity.MAKER, candle_time, candle_time)
            changed.append(paper_order_value(order))
        return changed

    def _fill(
        self,
        state: PaperAccountState,
        row: PaperPosition,
        order: PaperOrder,
        price: Decimal,
        liquidity: str,
        candle_time: datetime | None,
        opened_in: datetime,
    ) -> None:
        amount = order.amount - order.filled
        rate = self.maker_rate if liquidity == PaperFill.Liquidity.MAKER else self.taker_rate
        fee = engine.fee(amount, price, rate)
        effect = engine.apply_fill(_state_of(row), order.side, amount, price)
        row.side = effect.position.side or ""
        row.amount = effect.position.amount
        row.entry_price = effect.position.entry_price
        row.realized_pnl += effect.realized_pnl
        if effect.opened:
            row.opened_candle_time = opened_in
        elif row.amount == 0:
            row.opened_candle_time = None
        row.save()
        state.cash += effect.realized_pnl - fee
        state.realized_pnl += effect.realized_pnl
        state.fees_paid += fee
        state.save(update_fields=["cash", "realized_pnl", "fees_paid", "updated_at"])
        order.filled = order.amount
        order.average_price = price
        order.fee += fee
        order.status = PaperOrder.Status.CLOSED
        order.save()
        PaperFill.objects.create(
            order=order,
            price=price,
            amount=amount,
            fee=fee,
            liquidity=liquidity,
            realized_pnl=effect.realized_pnl,
            candle_time=candle_time,
        )

    # --- internals: checks ---------------------------------------------------------------------

    def _refuse_duplicate(self, client_order_id: str) -> None:
        if PaperOrder.objects.filter(account=self.account, client_order_id=client_order_id).exists():
            raise InvalidOrder(f"duplicate client order id {client_order_id!r}")

    def _reduce_only_amount(self, row: PaperPosition, side: str, amount: Decimal) -> Decimal:
        if row.amount == 0:
            raise InvalidOrder(f"reduce-only order refused: no open position on {row.market.symbol}")
        if engine.sign(row.side) == engine.sign(side):
            raise InvalidOrder(f"reduce-only {side} order refused: it would increase the {row.side} position")
        return min(amount, row.amount)

    def _check_spot(self, market: Market, position: engine.PositionState, side: str, amount: Decimal) -> None:
        if market.type == Market.Type.SPOT and side == engine.SELL and amount > position.amount:
            raise InsufficientFunds(
                f"spot sell of {amount} {market.base} exceeds the {position.amount} {market.base} held"
            )

    def _check_margin(
        self, state: PaperAccountState, row: PaperPosition, side: str, amount: Decimal, price: Decimal
    ) -> None:
        increase = engine.increase_of(_state_of(row), side, amount)
        required = engine.initial_margin(increase, price, row.leverage) + engine.fee(amount, price, self.taker_rate)
        _, free, _ = self._balance(state)
        if required > free:
            raise InsufficientFunds(
                f"needs {required.normalize()} {QUOTE} of free margin (leverage {row.leverage}), "
                f"{free.normalize()} {QUOTE} free"
            )

    # --- internals: state ----------------------------------------------------------------------

    def _state(self) -> PaperAccountState:
        state, _ = PaperAccountState.objects.get_or_create(
            account=self.account, defaults={"cash": self.account.paper_starting_balance}
        )
        return state

    def _lock(self) -> PaperAccountState:
        """The account's state row, locked for this transaction: the one lock every write takes first."""
        self._state()
        return PaperAccountState.objects.select_for_update().get(account=self.account)

    def _position_row(self, market: Market, *, horizon: datetime | None = None) -> PaperPosition:
        row, created = PaperPosition.objects.select_related("market").get_or_create(
            account=self.account,
            market=market,
            defaults={
                "leverage": 1 if market.type == Market.Type.SPOT else self.account.default_leverage,
                "margin_mode": self.account.margin_mode,
                "processed_through": horizon,
            },
        )
        return row

    def _balance(self, state: PaperAccountState) -> tuple[Decimal, Decimal, Decimal]:
        used = ZERO
        unrealized = ZERO
        leverage: dict[int, int] = {}
        for row in PaperPosition.objects.filter(account=self.account).select_related("market"):
            leverage[row.market_id] = row.leverage
            if row.amount > 0:
                used += engine.initial_margin(row.amount, row.entry_price, row.leverage)
                unrealized += engine.unrealized_pnl(_state_of(row), self._mark(row.market))
        for order in PaperOrder.objects.filter(
            account=self.account, status=PaperOrder.Status.OPEN, type=PaperOrder.Type.LIMIT, reduce_only=False
        ):
            used += engine.initial_margin(order.amount - order.filled, order.price, leverage.get(order.market_id, 1))
        total = state.cash
        return total, total + unrealized - used, used

    def _open_orders(self, market: Market):
        return PaperOrder.objects.filter(account=self.account, market=market, status=PaperOrder.Status.OPEN).order_by(
            "created_at", "id"
        )

    def _orders(self, market: Market, protective: bool):
        orders = PaperOrder.objects.filter(account=self.account, market=market).select_related("market")
        if protective:
            return orders.filter(type__in=PaperOrder.PROTECTIVE_TYPES)
        return orders.exclude(type__in=PaperOrder.PROTECTIVE_TYPES)

    def _insert_order(self, **fields: object) -> PaperOrder:
        try:
            # A savepoint, so that losing a race on the unique client id leaves the outer transaction usable.
            with transaction.atomic():
                return PaperOrder.objects.create(account=self.account, **fields)
        except IntegrityError as exc:
            raise InvalidOrder(f"duplicate client order id {fields['client_order_id']!r}") from exc

    # --- internals: market data ------------------------------------------------------------------

    def _market(self, symbol: str) -> Market:
        market = self._markets.get(symbol)
        if market is None:
            market = Market.objects.filter(exchange=self.account.exchange, symbol=symbol).first()
            if market is None:
                raise InvalidOrder(f"unknown symbol {symbol} on {self.account.exchange}")
            self._markets[symbol] = market
        return market

    @staticmethod
    def _rules(market: Market) -> MarketRules:
        return MarketRules(
            symbol=market.symbol,
            base=market.base,
            quote=market.quote,
            type=market.type,
            tick=market.price_precision,
            step=market.amount_precision,
            min_amount=market.min_amount,
            min_notional=market.min_notional,
            max_leverage=1 if market.type == Market.Type.SPOT else market.max_leverage or MAX_LEVERAGE,
        )

    def _price_timeframe(self, market: Market) -> str | None:
        """The market's shortest timeframe: of its stored series on replayed prices, of its collected
        series on live prices (the collector always follows 1m of a market it collects)."""
        if self.account.feed_source == MarketFeed.Source.EXCHANGE:
            fed = MarketFeed.objects.filter(market=market, source=MarketFeed.Source.EXCHANGE, horizon__isnull=False)
            stored: Iterable[str] = set(fed.values_list("timeframe", flat=True))
        else:
            stored = set(CandleSeriesStats.objects.filter(market=market).values_list("timeframe", flat=True))
            stored = stored or set(Candle.objects.filter(market=market).values_list("timeframe", flat=True).distinct())
        return min(stored, key=TIMEFRAME_MS.__getitem__) if stored else None

    def _horizon(self, market: Market, timeframe: str) -> datetime | None:
        """The newest candle released by the feed of the account's price source. No feed, no price:
        pricing from the newest stored candle before a replay starts would fill orders at the end of the
        data and leave their stops checked against candles the replay releases only much later."""
        return feed_horizon(market=market, timeframe=timeframe, source=self.account.feed_source)

    def _feed_name(self) -> str:
        return "replay" if self.account.feed_source == MarketFeed.Source.REPLAY else "live exchange"

    def _latest_candle(self, market: Market) -> tuple[Candle, str]:
        timeframe = self._price_timeframe(market)
        horizon = self._horizon(market, timeframe) if timeframe else None
        candle = (
            Candle.objects.filter(market=market, timeframe=timeframe, open_time__lte=horizon)
            .order_by("-open_time")
            .first()
            if horizon
            else None
        )
        if candle is None:
            raise ExchangeUnavailable(
                f"no released candle for {market.symbol}: the paper exchange has no price until its "
                f"{self._feed_name()} feed releases one (the worker's market data task, every minute)"
            )
        return candle, timeframe

    def _mark(self, market: Market) -> Decimal:
        """The price positions are marked at: the exchange's last trade price on live prices when it is
        newer than the newest released candle's close (a cached price older than that candle, from a
        collector that stopped caching, would be staler than the candle); else that close."""
        candle, timeframe = self._latest_candle(market)
        if self.account.feed_source == MarketFeed.Source.EXCHANGE:
            last = market_last_price(market=market)
            closed_at = candle.open_time + timedelta(milliseconds=TIMEFRAME_MS[timeframe])
            if last is not None and last[1] >= closed_at:
                return last[0]
        return candle.close

    # --- internals: conversion -----------------------------------------------------------------

    def _position(self, row: PaperPosition) -> Position:
        mark = self._mark(row.market)
        isolated = row.margin_mode == MarginMode.ISOLATED
        return Position(
            symbol=row.market.symbol,
            side=PositionSide(row.side),
            amount=row.amount,
            entry_price=row.entry_price,
            mark_price=mark,
            unrealized_pnl=engine.unrealized_pnl(_state_of(row), mark),
            leverage=row.leverage,
            margin_mode=MarginMode(row.margin_mode),
            liquidation_price=engine.liquidation_price(row.side, row.entry_price, row.leverage, self.mmr)
            if isolated and row.market.type == Market.Type.SWAP
            else None,
        )


def _state_of(row: PaperPosition) -> engine.PositionState:
    if row.amount == 0:
        return engine.PositionState.flat()
    return engine.PositionState(row.side, row.amount, row.entry_price)


def _pk(order_id: str) -> int:
    try:
        return int(order_id)
    except ValueError:
        raise OrderNotFound(f"no order {order_id}") from None


def paper_accounts_process_candles() -> int:
    """The worker's entry point after new candles are released: process them for every paper
    account with open orders, each on the feed of its own price source (the replay's releases for a
    replayed account, the exchange feed's for a live-priced one). Returns the number of orders that
    filled or expired."""
    accounts = ExchangeAccount.objects.filter(
        mode=ExchangeAccount.Mode.PAPER, paper_orders__status=PaperOrder.Status.OPEN
    ).distinct()
    return sum(len(PaperAdapter(account).sync()) for account in accounts)


def paper_order_value(order: PaperOrder) -> Order:
    """A stored paper order as the adapter interface reports orders."""
    return Order(
        id=str(order.pk),
        client_order_id=order.client_order_id,
        symbol=order.market.symbol,
        side=Side(order.side),
        type=order.type,
        status=OrderStatus(order.status),
        amount=order.amount,
        filled=order.filled,
        average_price=order.average_price,
        price=order.price,
        trigger_price=order.trigger_price,
        reduce_only=order.reduce_only,
        fee=order.fee,
        fee_currency=QUOTE,
        timestamp=datetime_to_ms(order.created_at),
        protective=order.type in PaperOrder.PROTECTIVE_TYPES,
        market_timestamp=datetime_to_ms(order.created_candle_time) if order.created_candle_time else None,
    )
