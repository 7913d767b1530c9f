"""The backtest loop (pure; no Django): signal codes per bar in, trades and the equity curve out.

Semantics (tests/backtests/test_engine.py checks each one on a hand-worked case), for the
default fill "next_open"; "close" differs where said:

- A signal is decided on a bar's close and fills at the NEXT bar's open. Slippage moves every
  fill against us: a buy pays price × (1 + slip), a sell receives price × (1 − slip).
  fill="close" (the paper exchange's market orders: apps/exchanges/adapters/paper_engine.py)
  fills it at that same close instead: close × (1 ± slip); that bar's equity includes the fill.
- A fee of `fee_bps` of the notional (quantity × fill price) is paid on entry and on exit.
- One position at a time. Entry signals while a position is open are ignored, and so is an
  opposite entry (no reversal: close it with an exit rule first). An exit signal closes whatever
  position is open, at the next open. A signal on the last bar cannot fill. With fill="close"
  every signal fills at its own close, the last bar's included: an exit there is a signal exit,
  an entry there is reported `end_open` with entry and exit on that bar, marked to the close it
  bought at, so its PnL is minus its fee and slippage. An exit signal and an entry never share a
  bar (one signal per bar), so re-entering after a signal exit needs a later bar in both modes.
- Size: the entry's notional plus its fee spend size_pct of equity, never more: quantity =
  equity × size_pct / 100 / (entry fill price × (1 + fee rate)), with equity the cash before the
  entry (flat, so equity is cash); fees come out of cash. So at 100 % the entry uses the whole
  equity and pays its fee out of it. No entry while equity <= 0. (backtesting.py 0.6 sizes a
  fractional `size` alike in `_Broker._process_orders`: units = floor(margin available × size /
  (price × (1 + spread) + price × commission)); it floors to whole units and takes the commission
  on the price before the spread, where the fee here is on the slipped fill price.)
- Stop-loss and take-profit are percent distances from the entry fill price, checked from the bar
  AFTER the entry bar (the bar whose open, or with fill="close" whose close, filled the entry;
  a close fill is thus checked from the very next bar's open on). A bar that opens beyond a level
  (a gap) fills at that open; otherwise a touched level fills at the level. When the stop and the
  target both lie inside one bar, the stop wins (the bar's path is unknown; assume the worst).
  Exit slippage applies to these fills too (a long's stop at 95 with 2 bps fills at 95 × 0.9998).
- A position closed by the stop or target during a bar leaves us flat at that bar's close, so an
  entry signal on that same close is taken (it fills at the next open, or at that close). With
  fill="close" an exit signal on that bar finds nothing to close: the range came before the close.
  An exit signal filling at an open comes before that bar's stop and target.
- A position still open after the last bar is marked to the last close without an exit fee and
  reported as a trade with exit reason `end_open`.
- A bar counts as "in a position" (exposure) when a position was held after its open: from the
  entry bar up to the bar before a signal exit (which fills at an open), up to and including the
  bar of a stop or target exit, or to the last bar for `end_open`. With fill="close" the entry
  bar does not count (entered at its close) and a signal exit's bar does (left at its close).
- Accounting is that of a futures account: cash changes by fees and realised PnL, equity at a
  bar's close is cash + side × quantity × (close − entry price). So the final equity is the
  initial cash plus the sum of every trade's PnL (the open one included).

Signals: `signal_codes` = `signals_for(bar_directions(compute_triggers(spec, candles)),
cooldown_bars=spec.cooldown_bars)` without the suppressed ones, as one int8 code per bar. It runs
the cooldown in a compiled loop: signals_for builds a Python object per signal (about 0.15 s for
the 48,000 signals of a year of 1m bars), which alone would exceed the simulation's budget.
tests/backtests/test_parity.py pins the two to the same bars and directions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numba
import numpy as np

from apps.market.arrays import CandleArrays
from apps.strategies.decisions import EXIT, LONG, NONE, SHORT, bar_directions
from apps.strategies.series import compute_triggers
from apps.strategies.spec import StrategySpec

SIGNAL, STOP_LOSS, TAKE_PROFIT, END_OPEN = 0, 1, 2, 3
EXIT_REASONS = ("signal", "stop_loss", "take_profit", "end_open")
SIDES = {1: "long", -1: "short"}
BPS = 10_000.0
MAX_BPS = 1_000.0  # 10 %: anything above is surely a typo (bps taken for percent)
MAX_CASH = 1e15  # fits BacktestRun.initial_cash with room to spare
MAX_TP_PCT = 10_000.0  # a 100x target; also what BacktestRun.tp_pct can hold
# Where a signal decided on a bar's close fills: the next bar's open, or that same close (the
# paper exchange's market orders, apps/exchanges/adapters/paper_engine.py).
FILL_NEXT_OPEN, FILL_CLOSE = "next_open", "close"
FILLS = (FILL_NEXT_OPEN, FILL_CLOSE)

kernel = numba.njit(cache=True, error_model="numpy")


class BacktestParamsError(ValueError):
    """Numbers a backtest cannot run with; `problems` names each one."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class BacktestParams:
    """Percentages and basis points as the operator types them; None switches a level off."""

    cash: float = 10_000.0
    fee_bps: float = 4.0
    slippage_bps: float = 2.0
    size_pct: float = 100.0
    sl_pct: float | None = None
    tp_pct: float | None = None
    fill: str = FILL_NEXT_OPEN

    def field_problems(self) -> dict[str, str]:
        """Each bad number by field name (`fee_bps`), with a message naming the option (`fee-bps`)."""
        found = {}
        if not (math.isfinite(self.cash) and 0 < self.cash <= MAX_CASH):
            found["cash"] = f"cash must be a positive amount up to {MAX_CASH:g}, not {self.cash:g}"
        for name in ("fee_bps", "slippage_bps"):
            value = getattr(self, name)
            if not (math.isfinite(value) and 0 <= value <= MAX_BPS):
                found[name] = f"{name.replace('_', '-')} must be between 0 and {MAX_BPS:g} basis points, not {value:g}"
        if not (math.isfinite(self.size_pct) and 0 < self.size_pct <= 100):
            found["size_pct"] = f"size-pct must be in (0, 100], not {self.size_pct:g}"
        if self.sl_pct is not None and not (math.isfinite(self.sl_pct) and 0 < self.sl_pct < 100):
            found["sl_pct"] = f"sl-pct must be in (0, 100), not {self.sl_pct:g}"
        if self.tp_pct is not None and not (math.isfinite(self.tp_pct) and 0 < self.tp_pct <= MAX_TP_PCT):
            found["tp_pct"] = f"tp-pct must be in (0, {MAX_TP_PCT:g}], not {self.tp_pct:g}"
        if self.fill not in FILLS:
            found["fill"] = f"fill must be {' or '.join(FILLS)}, not {self.fill!r}"
        return found

    def problems(self) -> list[str]:
        return list(self.field_problems().values())

    def validated(self) -> BacktestParams:
        problems = self.problems()
        if problems:
            raise BacktestParamsError(problems)
        return self

    def as_dict(self) -> dict[str, float | str | None]:
        return {field.name: getattr(self, field.name) for field in fields(self)}


@dataclass(frozen=True)
class Trades:
    """One row per trade, as parallel arrays. Bars are indexes into the candles."""

    entry_bar: np.ndarray  # int64: the bar whose open (fill="close": close) filled the entry
    exit_bar: np.ndarray  # int64: the bar whose open or close (signal) or range (stop, target) filled the exit
    side: np.ndarray  # int8: 1 long, -1 short
    entry_price: np.ndarray
    exit_price: np.ndarray
    quantity: np.ndarray
    fees: np.ndarray  # entry fee + exit fee (entry fee only for end_open)
    pnl: np.ndarray  # after fees
    reason: np.ndarray  # int8 index into EXIT_REASONS

    def __len__(self) -> int:
        return len(self.entry_bar)

    @property
    def return_pct(self) -> np.ndarray:
        """PnL after fees as a percentage of the entry notional (quantity × entry price)."""
        return self.pnl / (self.quantity * self.entry_price) * 100.0


@dataclass(frozen=True)
class BacktestResult:
    candles: CandleArrays
    params: BacktestParams
    signal_codes: np.ndarray  # int8 per bar: the accepted (not suppressed) signal of each bar
    trades: Trades
    equity: np.ndarray  # float64 per bar, at the bar's close
    in_position: np.ndarray  # bool per bar: a position was held during (part of) the bar

    @property
    def final_equity(self) -> float:
        return float(self.equity[-1]) if len(self.equity) else self.params.cash


@kernel
def accepted_codes(directions: np.ndarray, cooldown_bars: int) -> np.ndarray:
    """apps.strategies.decisions.Cooldown over every bar: after a signal, the same direction is
    suppressed for `cooldown_bars` bars; a suppressed signal does not restart the count."""
    codes = np.zeros(len(directions), dtype=np.int8)
    last = np.full(4, -1, dtype=np.int64)
    for i in range(len(directions)):
        code = directions[i]
        if code == NONE:
            continue
        previous = last[code]
        if previous >= 0 and i - previous <= cooldown_bars:
            continue
        last[code] = i
        codes[i] = code
    return codes


def signal_codes(spec: StrategySpec, candles: CandleArrays, *, sentiment: np.ndarray | None = None) -> np.ndarray:
    directions = bar_directions(compute_triggers(spec, candles, sentiment=sentiment))
    return accepted_codes(directions, spec.cooldown_bars)


@kernel
def _simulate(open_, high, low, close, codes, cash, fee_rate, slip_rate, size_frac, sl_frac, tp_frac, at_close):
    n = len(close)
    # Filling at the next open, each trade spans two bars at least (entry at an open, exit at a
    # later open or range) and the next entry needs another signal close: n // 2 + 1 trades fit.
    # Filling at the close, a stop can end a trade on the bar after its entry and the close of
    # that bar can enter again: up to one trade per bar.
    capacity = n + 2 if at_close else n // 2 + 2
    entry_bars = np.empty(capacity, dtype=np.int64)
    exit_bars = np.empty(capacity, dtype=np.int64)
    sides = np.empty(capacity, dtype=np.int8)
    entry_prices = np.empty(capacity)
    exit_prices = np.empty(capacity)
    quantities = np.empty(capacity)
    trade_fees = np.empty(capacity)
    pnls = np.empty(capacity)
    reasons = np.empty(capacity, dtype=np.int8)
    equity = np.empty(n)
    held = np.zeros(n, dtype=np.bool_)

    count = 0
    side = 0
    quantity = 0.0
    entry_price = 0.0
    entry_fee = 0.0
    entry_bar = -1
    stop = math.nan
    target = math.nan
    for i in range(n):
        # The signal that fills on this bar, and at what price: the previous bar's at this open,
        # or this bar's own at this close (after the bar's range has been checked).
        if at_close:
            code, price = codes[i], close[i]
        else:
            code, price = (codes[i - 1] if i > 0 else NONE), open_[i]
        bar_open = open_[i]
        exit_at = math.nan
        reason = SIGNAL
        # The stop and target over this bar's range, unless an exit signal fills at its open first.
        # An entry fills below, after this check: a position open here was entered on an earlier bar.
        if side != 0 and (at_close or code != EXIT):
            # NaN levels compare false, so a switched-off stop or target never fills.
            if side == 1:
                if bar_open <= stop:
                    exit_at, reason = bar_open, STOP_LOSS
                elif bar_open >= target:
                    exit_at, reason = bar_open, TAKE_PROFIT
                elif low[i] <= stop:
                    exit_at, reason = stop, STOP_LOSS
                elif high[i] >= target:
                    exit_at, reason = target, TAKE_PROFIT
            else:
                if bar_open >= stop:
                    exit_at, reason = bar_open, STOP_LOSS
                elif bar_open <= target:
                    exit_at, reason = bar_open, TAKE_PROFIT
                elif high[i] >= stop:
                    exit_at, reason = stop, STOP_LOSS
                elif low[i] <= target:
                    exit_at, reason = target, TAKE_PROFIT
        if side != 0 and code == EXIT and math.isnan(exit_at):
            exit_at = price

        if not math.isnan(exit_at):
            exit_fill = exit_at * (1.0 - side * slip_rate)
            # Exposed from the open until the level or the close; an exit at the open was not.
            held[i] = reason != SIGNAL or at_close
            exit_fee = quantity * exit_fill * fee_rate
            gross = side * quantity * (exit_fill - entry_price)
            cash += gross - exit_fee
            entry_bars[count] = entry_bar
            exit_bars[count] = i
            sides[count] = side
            entry_prices[count] = entry_price
            exit_prices[count] = exit_fill
            quantities[count] = quantity
            trade_fees[count] = entry_fee + exit_fee
            pnls[count] = gross - entry_fee - exit_fee
            reasons[count] = reason
            count += 1
            side = 0

        # Flat when the signal was decided: at the previous close for an open fill (a stop in this
        # bar's range came after it), after this bar's range for a close fill.
        if side == 0 and code in (LONG, SHORT) and cash > 0.0 and (at_close or math.isnan(exit_at)):
            side = 1 if code == LONG else -1
            entry_price = price * (1.0 + side * slip_rate)
            # Notional plus the entry fee spend at most cash × size_frac: q × price × (1 + fee).
            quantity = cash * size_frac / (entry_price * (1.0 + fee_rate))
            entry_fee = quantity * entry_price * fee_rate
            cash -= entry_fee
            entry_bar = i
            stop = entry_price * (1.0 - side * sl_frac) if sl_frac > 0.0 else math.nan
            target = entry_price * (1.0 + side * tp_frac) if tp_frac > 0.0 else math.nan

        if side != 0:
            if entry_bar < i or not at_close:
                held[i] = True  # a position entered at this close was not held during the bar
            equity[i] = cash + side * quantity * (close[i] - entry_price)
        else:
            equity[i] = cash

    if side != 0:
        entry_bars[count] = entry_bar
        exit_bars[count] = n - 1
        sides[count] = side
        entry_prices[count] = entry_price
        exit_prices[count] = close[n - 1]
        quantities[count] = quantity
        trade_fees[count] = entry_fee
        pnls[count] = side * quantity * (close[n - 1] - entry_price) - entry_fee
        reasons[count] = END_OPEN
        count += 1

    return (
        entry_bars[:count].copy(),
        exit_bars[:count].copy(),
        sides[:count].copy(),
        entry_prices[:count].copy(),
        exit_prices[:count].copy(),
        quantities[:count].copy(),
        trade_fees[:count].copy(),
        pnls[:count].copy(),
        reasons[:count].copy(),
        equity,
        held,
    )


def simulate(candles: CandleArrays, codes: np.ndarray, params: BacktestParams) -> BacktestResult:
    """Run the loop over accepted signal codes (one int8 per bar: NONE, LONG, SHORT or EXIT)."""
    params = params.validated()
    codes = np.ascontiguousarray(codes, dtype=np.int8)
    if len(codes) != len(candles):
        raise ValueError(f"{len(codes)} signal codes for {len(candles)} candles")
    *trade_columns, equity, held = _simulate(
        np.ascontiguousarray(candles.open, dtype=np.float64),
        np.ascontiguousarray(candles.high, dtype=np.float64),
        np.ascontiguousarray(candles.low, dtype=np.float64),
        np.ascontiguousarray(candles.close, dtype=np.float64),
        codes,
        float(params.cash),
        params.fee_bps / BPS,
        params.slippage_bps / BPS,
        params.size_pct / 100.0,
        (params.sl_pct or 0.0) / 100.0,
        (params.tp_pct or 0.0) / 100.0,
        params.fill == FILL_CLOSE,
    )
    return BacktestResult(
        candles=candles,
        params=params,
        signal_codes=codes,
        trades=Trades(*trade_columns),
        equity=equity,
        in_position=held,
    )


def run_backtest(
    spec: StrategySpec, candles: CandleArrays, params: BacktestParams, *, sentiment: np.ndarray | None = None
) -> BacktestResult:
    return simulate(candles, signal_codes(spec, candles, sentiment=sentiment), params)


def warm_up(spec: StrategySpec) -> None:
    """Load (or compile) every kernel a run of `spec` needs, on a few made-up bars.

    The first compiled call in a process pays for LLVM's start and numba's cache loading (about
    0.4 s); services run this on a thread while the candles are read, which mostly waits on the
    database, so that cost overlaps the read instead of following it.
    """
    n = 64
    prices = 100.0 + np.sin(np.arange(n) / 3.0)
    candles = CandleArrays(np.arange(n, dtype=np.int64) * 60_000, prices, prices + 1.0, prices - 1.0, prices, prices)
    run_backtest(spec, candles, BacktestParams(sl_pct=1.0, tp_pct=1.0))
