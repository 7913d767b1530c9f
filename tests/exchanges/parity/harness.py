"""Two venues driven in lock-step over the same candles: the emulator through CcxtAdapter, and PaperAdapter.

Alignment (the paper side is the reference; the emulator is configured to match it):
- fees: the emulator's taker/maker rates are set to paper_engine.TAKER_FEE_RATE / MAKER_FEE_RATE of the exchange;
- slippage: the emulator's ``slippage`` fraction equals PaperAdapter's ``slippage_bps`` / 10 000;
- prices: both price a market order at the close of the current candle (the emulator's clock candle, the
  paper replay horizon); advancing one step hands the next candle to both (emulator ``advance``,
  paper horizon moved + ``sync``);
- market rules: the paper Market is created from the rules CcxtAdapter loaded from the emulator;
- leverage 10 and cross margin on both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from apps.exchanges.adapters import paper_engine
from apps.exchanges.adapters.base import (
    Order,
    OrderRequest,
    OrderType,
    Position,
    ProtectionKind,
    ProtectiveOrderRequest,
    Side,
)
from apps.exchanges.adapters.ccxt_adapter import CcxtAdapter
from apps.exchanges.adapters.paper import PaperAdapter
from apps.exchanges.adapters.retry import RetryPolicy
from apps.exchanges.emulator import ExchangeEmulator, testing
from apps.exchanges.emulator.candles import Candle
from apps.exchanges.models import ExchangeAccount, PaperAccountState, PaperFill
from apps.market.candles_io import CandleSeries, ms_to_datetime
from apps.market.models import MarketFeed
from apps.market.services import candle_series_import, market_create

SYMBOL = "BTC/USDT:USDT"
LEVERAGE = 10
BALANCE = Decimal(10_000)
# Entry prices are averages: the emulator keeps 28 significant digits, ccxt hands them over as floats and paper
# stores 12 decimal places, so averaged values (entry, unrealised PnL) agree to this, everything else exactly.
AVERAGE_TOLERANCE = Decimal("1e-6")


@dataclass(frozen=True)
class FillRecord:
    price: Decimal
    amount: Decimal
    fee: Decimal
    realized_pnl: Decimal
    maker: bool


class Pair:
    """One emulator account behind CcxtAdapter and one paper account, fed the same candles."""

    def __init__(
        self, exchange: str, candles: Sequence[Candle], *, start: int, slippage_bps: Decimal, emulator_factory
    ) -> None:
        self.exchange = exchange
        self.candles = list(candles)
        self.index = start
        self.emu: ExchangeEmulator = emulator_factory(
            exchange,
            candles={SYMBOL: self.candles},
            history=start,
            balance=BALANCE,
            taker_fee=paper_engine.TAKER_FEE_RATE[exchange],
            maker_fee=paper_engine.MAKER_FEE_RATE[exchange],
            slippage=slippage_bps / paper_engine.BPS,
        )
        self.ccxt = CcxtAdapter(
            exchange,
            api_key=self.emu.api_key,
            secret=self.emu.api_secret,
            enable_rate_limit=False,
            timeout_ms=3000,
            retry=RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.05),
            configure=lambda client: testing.configure_ccxt_client(client, self.emu),
        )
        self.ccxt.load_markets()
        self.rules = self.ccxt.rules(SYMBOL)
        market = market_create(
            exchange=exchange,
            symbol=SYMBOL,
            base=self.rules.base,
            quote=self.rules.quote,
            type="swap",
            price_precision=self.rules.tick,
            amount_precision=self.rules.step,
            min_amount=self.rules.min_amount,
            min_notional=self.rules.min_notional,
        )
        ohlcv = np.array(
            [[float(c.open), float(c.high), float(c.low), float(c.close), float(c.volume)] for c in candles]
        )
        times = np.array([c.open_time for c in candles], dtype=np.int64)
        candle_series_import(
            market=market, timeframe="1m", series=CandleSeries(open_time_ms=times, ohlcv=ohlcv, format="t"), source="t"
        )
        self.feed = MarketFeed.objects.create(
            market=market, timeframe="1m", source=MarketFeed.Source.REPLAY, horizon=self._time(start)
        )
        self.account = ExchangeAccount.objects.create(
            name=f"parity-{exchange}",
            exchange=exchange,
            mode=ExchangeAccount.Mode.PAPER,
            paper_starting_balance=BALANCE,
            default_leverage=LEVERAGE,
            margin_mode="cross",
        )
        self.paper = PaperAdapter(self.account, slippage_bps=slippage_bps)
        self.ccxt.set_leverage(SYMBOL, LEVERAGE)
        self.paper.set_leverage(SYMBOL, LEVERAGE)
        self._seen_emu_fills = 0
        self._seen_paper_fills = 0
        self.steps: list[str] = []
        # The Gate emulator answers a position's entry_price rounded to the tick (Binance: 8 places), so an
        # averaged entry agrees to half a tick there; the unrealised PnL is computed exchange-side and agrees to 1e-6.
        self.entry_tolerance = self.rules.tick / 2 if exchange == "gate" else AVERAGE_TOLERANCE

    def _time(self, index: int):
        return ms_to_datetime(self.candles[index].open_time)

    @property
    def bar(self) -> Candle:
        return self.candles[self.index]

    # --- actions on both venues ---------------------------------------------------------------------------
    def market(self, side: Side, amount: str, cid: str, *, reduce_only: bool = False) -> tuple[Order, Order]:
        request = OrderRequest(SYMBOL, side, OrderType.MARKET, Decimal(amount), cid, reduce_only=reduce_only)
        return self._both(cid, self.ccxt.create_order(request), self.paper.create_order(request))

    def limit(self, side: Side, amount: str, price: Decimal, cid: str) -> tuple[Order, Order]:
        request = OrderRequest(SYMBOL, side, OrderType.LIMIT, Decimal(amount), cid, price=price)
        return self._both(cid, self.ccxt.create_order(request), self.paper.create_order(request))

    def protect(self, kind: ProtectionKind, side: Side, amount: str, trigger: Decimal, cid: str) -> None:
        request = ProtectiveOrderRequest(SYMBOL, side, kind, Decimal(amount), trigger, cid)
        emu_order, paper_order = self.ccxt.create_protective_order(request), self.paper.create_protective_order(request)
        assert (emu_order.status, emu_order.trigger_price, emu_order.amount) == (
            paper_order.status,
            paper_order.trigger_price,
            paper_order.amount,
        ), cid

    def cancel(self, cid: str, *, protective: bool = False) -> None:
        for adapter in (self.ccxt, self.paper):
            order = adapter.fetch_order_by_client_id(SYMBOL, cid, protective=protective)
            assert order is not None, (adapter, cid)
            if order.status == "open":
                adapter.cancel_order(SYMBOL, order_id=order.id, protective=protective)

    def advance(self, steps: int = 1) -> None:
        """One candle at a time on both sides, comparing the books after each."""
        for _ in range(steps):
            self.index += 1
            self.emu.advance(1)
            self.feed.horizon = self._time(self.index)
            self.feed.save(update_fields=["horizon"])
            self.paper.sync()
            self.compare(f"bar {self.index}")

    def order(self, cid: str, *, protective: bool = False) -> tuple[Order, Order]:
        emu_order = self.ccxt.fetch_order_by_client_id(SYMBOL, cid, protective=protective)
        paper_order = self.paper.fetch_order_by_client_id(SYMBOL, cid, protective=protective)
        assert emu_order is not None and paper_order is not None, cid
        return emu_order, paper_order

    def paper_state(self) -> PaperAccountState:
        return PaperAccountState.objects.get(account=self.account)

    # --- comparisons --------------------------------------------------------------------------------------
    def _both(self, cid: str, emu_order: Order, paper_order: Order) -> tuple[Order, Order]:
        self.compare(cid)
        # The order as each adapter reports it: the emulator's answer may lack the fill, so look it up again.
        emu_order, paper_order = self.order(cid)
        assert_orders_agree(emu_order, paper_order, cid)
        return emu_order, paper_order

    def new_fills(self) -> tuple[list[FillRecord], list[FillRecord]]:
        emu_fills = [
            FillRecord(f.price, f.qty, f.fee, f.realized_pnl, f.maker)
            for f in self.emu.engine.fills[self._seen_emu_fills :]
        ]
        paper_rows = PaperFill.objects.filter(order__account=self.account).order_by("id")[self._seen_paper_fills :]
        paper_fills = [
            FillRecord(r.price, r.amount, r.fee, r.realized_pnl, r.liquidity == PaperFill.Liquidity.MAKER)
            for r in paper_rows
        ]
        self._seen_emu_fills += len(emu_fills)
        self._seen_paper_fills += len(paper_fills)
        return emu_fills, paper_fills

    def compare(self, step: str) -> None:
        self.steps.append(step)
        emu_fills, paper_fills = self.new_fills()
        # Decimal equality: same price reference, same fee rate, prices on the tick grid.
        assert [_norm_fill(f) for f in emu_fills] == [_norm_fill(f) for f in paper_fills], (
            step,
            emu_fills,
            paper_fills,
        )
        emu_positions, paper_positions = self.ccxt.fetch_positions([SYMBOL]), self.paper.fetch_positions([SYMBOL])
        assert len(emu_positions) == len(paper_positions), (step, emu_positions, paper_positions)
        for emu_pos, paper_pos in zip(emu_positions, paper_positions, strict=True):
            assert_positions_agree(emu_pos, paper_pos, step, entry_tolerance=self.entry_tolerance)
        state = PaperAccountState.objects.get(account=self.account)
        # Wallet = starting balance + realised PnL − fees, on both books.
        assert _close(self.emu.engine.wallet, state.cash), (step, self.emu.engine.wallet, state.cash)
        realized = sum((f.realized_pnl for f in self.emu.engine.fills), Decimal(0))
        assert _close(realized, state.realized_pnl), (step, realized, state.realized_pnl)


def _norm_fill(fill: FillRecord) -> tuple:
    return (fill.price.normalize(), fill.amount.normalize(), fill.fee.normalize(), fill.maker)


def _close(a: Decimal | None, b: Decimal | None, tolerance: Decimal = AVERAGE_TOLERANCE) -> bool:
    if a is None or b is None:
        return a is b
    return abs(Decimal(a) - Decimal(b)) <= tolerance


def assert_orders_agree(emu: Order, paper: Order, step: str) -> None:
    assert emu.status == paper.status, (step, emu, paper)
    assert emu.side == paper.side and emu.reduce_only == paper.reduce_only, (step, emu, paper)
    assert emu.amount == paper.amount and emu.filled == paper.filled, (step, emu, paper)
    assert emu.average_price == paper.average_price, (step, emu, paper)


def assert_positions_agree(
    emu: Position, paper: Position, step: str, *, entry_tolerance: Decimal = AVERAGE_TOLERANCE
) -> None:
    assert emu.side == paper.side, (step, emu, paper)
    assert emu.amount == paper.amount, (step, emu, paper)
    assert _close(emu.entry_price, paper.entry_price, entry_tolerance), (step, emu, paper)
    assert emu.mark_price == paper.mark_price, (step, emu, paper)
    assert _close(emu.unrealized_pnl, paper.unrealized_pnl), (step, emu, paper)
