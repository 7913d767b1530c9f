"""A trader's whole decision path over stored candles on a simulated clock (pure; no Django):
`backtest --trader` and `trader_dry_run`.

Each candle goes through the steps of the worker's cycle (apps/traders/services/cycles.py), with
the same code wherever the cycle computes something:

1. The paper exchange's stop-loss and take-profit of an open position are checked on the candle
   (apps.exchanges.adapters.paper_engine: gap at the open first, the stop before the target, exit
   slippage, taker fee), from the candle after the entry's on, as PaperAdapter does.
2. The strategy is evaluated by the live evaluation (apps.signals.evaluation.LiveEvaluation, fed
   every candle from the first stored one, as the worker feeds it).
3. Equity is the cash plus the unrealised PnL at the close; the daily-loss and drawdown halts
   follow it (apps.traders.risk.equity_update), read once per candle as reconciliation does.
4. The decision is apps.traders.cycle's decision maker for the trader's mode.
5. An entry is planned by apps.traders.cycle.plan_entry, passes the RiskManager with the
   snapshot the preview builds (entry price: the close, the ticker's last), and fills at the
   close ± slippage with the taker fee (paper_engine.slipped, fee, apply_fill); an exit fills
   the same way at the close.

The clock is the candles': a decision happens at its candle's close (open time + timeframe), which
the symbol cooldown and the halts' UTC day read. Orders fill at once, so the trader is never
"waiting" for one. The strategy's `sentiment` input is the series the caller passes (the base asset's
rolling news sentiment at each close, apps.news.selectors.candle_sentiment, as the cycle reads it);
NaN, or no series, is missing.

The output has the shape of apps.backtests.engine's (a BacktestResult, so the metrics and reports
apply), with bar indexes into the simulated period, plus the trades in Decimal and, on request,
every decision with its inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

from apps.backtests.engine import (
    END_OPEN,
    EXIT_REASONS,
    FILL_CLOSE,
    SIGNAL,
    STOP_LOSS,
    TAKE_PROFIT,
    BacktestParams,
    BacktestResult,
    Trades,
)
from apps.core.numbers import at_increment, money
from apps.exchanges.adapters import paper_engine as paper
from apps.market.arrays import CandleArrays
from apps.market.candles_io import ms_to_datetime
from apps.signals.evaluation import LiveEvaluation
from apps.strategies.decisions import CODES
from apps.strategies.spec import StrategySpec
from apps.traders import cycle
from apps.traders.risk import (
    AccountSnapshot,
    EquityState,
    MarketLimits,
    PlanRequest,
    RiskLimits,
    RiskManager,
    RiskReport,
    equity_update,
)

# (candles done, candles in all), after each candle.
Progress = Callable[[int, int], None]
SIGNAL_CODES = {str(direction): code for code, direction in CODES.items()}
EXIT_CODES = {paper.STOP_LOSS: STOP_LOSS, paper.TAKE_PROFIT: TAKE_PROFIT}


@dataclass(frozen=True)
class TraderSetup:
    """One trader on one market, as the simulation needs it (built from the models by the caller)."""

    spec: StrategySpec  # with the ATR the trader's ATR levels read
    decision_mode: str
    rules: cycle.EntryRules
    terms: cycle.MarketTerms
    limits: RiskLimits
    market: MarketLimits
    leverage: int
    atr_id: str
    cash: Decimal
    timeframe_ms: int


@dataclass(frozen=True)
class SimTrade:
    """One round trip, in the paper exchange's Decimal numbers; times are the candles' open times."""

    entry_ms: int
    exit_ms: int
    side: str  # cycle.LONG or cycle.SHORT
    quantity: Decimal
    entry_price: Decimal  # the fill, slippage included
    exit_price: Decimal  # the fill; for end_open the last close
    fees: Decimal
    pnl: Decimal  # after fees
    reason: str  # one of engine.EXIT_REASONS


@dataclass(frozen=True)
class DecisionRecord:
    """One candle's decision: what the rule read, what it decided and what came of it."""

    inputs: cycle.CycleInputs
    decision: cycle.Decision
    outcome: str  # "held", "traded" or "rejected"
    note: str  # the fill, or why the entry was not made


@dataclass(frozen=True)
class TraderRun:
    result: BacktestResult
    trades: tuple[SimTrade, ...]
    decisions: tuple[DecisionRecord, ...]


@dataclass
class _Open:
    side: str
    quantity: Decimal
    entry_price: Decimal
    entry_fee: Decimal
    entry_bar: int
    stop_loss: Decimal | None
    take_profit: Decimal | None

    @property
    def close_side(self) -> str:
        return paper.SELL if self.side == cycle.LONG else paper.BUY

    @property
    def state(self) -> paper.PositionState:
        return paper.PositionState(self.side, self.quantity, self.entry_price)


@dataclass
class _Account:
    """The simulated paper account: cash (the wallet: realised PnL less fees), one position, halts."""

    cash: Decimal
    position: _Open | None = None
    risk: EquityState | None = None
    last_entry_ms: dict[str, int] = field(default_factory=dict)
    trades: list[SimTrade] = field(default_factory=list)

    def equity(self, mark: Decimal) -> Decimal:
        position = self.position
        return self.cash + (paper.unrealized_pnl(position.state, mark) if position else Decimal(0))


def _decimal(value: float) -> Decimal:
    return Decimal(repr(float(value)))


def _bar(candles: CandleArrays, index: int) -> paper.Bar:
    return paper.Bar(
        int(candles.open_time[index]),
        _decimal(candles.open[index]),
        _decimal(candles.high[index]),
        _decimal(candles.low[index]),
        _decimal(candles.close[index]),
    )


class _Simulation:
    def __init__(
        self,
        setup: TraderSetup,
        candles: CandleArrays,
        sentiment: np.ndarray,
        *,
        start: int,
        record: bool,
        decider: cycle.DecisionMaker | None = None,
    ) -> None:
        self.setup = setup
        self.candles = candles
        self.sentiment = sentiment
        self.start = start
        self.record = record
        self.slip = setup.terms.slippage
        self.account = _Account(cash=setup.cash)
        self.decider = decider or cycle.decision_maker(setup.decision_mode)
        self.risk = RiskManager(setup.limits)
        self.evaluation = LiveEvaluation(setup.spec, cooldown_bars=setup.spec.cooldown_bars)
        bars = len(candles) - start
        self.codes = np.zeros(bars, dtype=np.int8)
        self.equity = np.empty(bars)
        self.held = np.zeros(bars, dtype=np.bool_)
        self.decisions: list[DecisionRecord] = []

    # --- fills ---------------------------------------------------------------------------------

    def _close(self, open_time: int, price: Decimal, reason: int) -> None:
        position = self.account.position
        assert position is not None
        fee = paper.fee(position.quantity, price, self.setup.terms.fee_rate)
        gross = paper.apply_fill(position.state, position.close_side, position.quantity, price).realized_pnl
        self.account.cash += gross - fee
        self._trade(position, exit_ms=open_time, price=price, gross=gross, fees=position.entry_fee + fee, reason=reason)
        self.account.position = None

    def _trade(
        self, position: _Open, *, exit_ms: int, price: Decimal, gross: Decimal, fees: Decimal, reason: int
    ) -> None:
        self.account.trades.append(
            SimTrade(
                entry_ms=int(self.candles.open_time[position.entry_bar]),
                exit_ms=exit_ms,
                side=position.side,
                quantity=position.quantity,
                entry_price=position.entry_price,
                exit_price=price,
                fees=fees,
                pnl=gross - fees,
                reason=EXIT_REASONS[reason],
            )
        )

    def _protective(self, bar: int, candle: paper.Bar) -> None:
        """The resting stop and target on this candle, from the candle after the entry's on."""
        position = self.account.position
        if position is None or position.entry_bar >= bar:
            return
        hits = []
        for kind, level in ((paper.STOP_LOSS, position.stop_loss), (paper.TAKE_PROFIT, position.take_profit)):
            hit = None if level is None else paper.protective_trigger(kind, position.close_side, level, candle)
            if hit is not None:
                hits.append((paper.fill_priority(kind, hit[1]), kind, hit[0]))
        if hits:
            _, kind, level = min(hits)
            price = paper.slipped(level, position.close_side, self.slip)
            self._close(candle.open_time, price, EXIT_CODES[kind])

    # --- the decision --------------------------------------------------------------------------

    def _evaluate(self, bar: int) -> tuple[str | None, dict[str, float | None]]:
        self.evaluation.feed(self.candles.slice(bar, bar + 1), sentiment=self.sentiment[bar : bar + 1])
        signal = self.evaluation.last_signal
        return (str(signal) if signal is not None else None), self.evaluation.values

    def _inputs(self, candle: paper.Bar, signal: str | None, values: dict, equity: Decimal) -> cycle.CycleInputs:
        position = self.account.position
        sentiment = values.pop("sentiment", None)  # beside the indicator values, as the cycle records it
        return cycle.CycleInputs(
            symbol=self.setup.market.symbol,
            candle_open_ms=candle.open_time,
            price=candle.close,
            signal=signal,
            indicators=values,
            sentiment=sentiment,
            position=None
            if position is None
            else cycle.Position(position.side, position.quantity, position.entry_price),
            equity=equity,
            can_short=not self.setup.market.is_spot,
        )

    def step(self, bar: int) -> None:
        candle = _bar(self.candles, bar)
        period_bar = bar - self.start
        self.held[period_bar] = self.account.position is not None and self.account.position.entry_bar < bar
        self._protective(bar, candle)
        signal, values = self._evaluate(bar)
        self.codes[period_bar] = SIGNAL_CODES.get(signal or "", 0)
        now_ms = candle.open_time + self.setup.timeframe_ms
        equity = self.account.equity(candle.close)
        self.account.risk = equity_update(
            self.account.risk, equity=equity, now=ms_to_datetime(now_ms), limits=self.setup.limits
        )
        inputs = self._inputs(candle, signal, values, equity)
        decision = self.decider.decide(inputs)
        outcome, note = self._act(bar, candle, inputs, decision, now_ms)
        if self.record:
            self.decisions.append(DecisionRecord(inputs=inputs, decision=decision, outcome=outcome, note=note))
        self.equity[period_bar] = float(self.account.equity(candle.close))

    def _act(
        self, bar: int, candle: paper.Bar, inputs: cycle.CycleInputs, decision: cycle.Decision, now_ms: int
    ) -> tuple[str, str]:
        if decision.action == cycle.Action.EXIT:
            position = self.account.position
            assert position is not None
            price = paper.slipped(candle.close, position.close_side, self.slip)
            self._close(candle.open_time, price, SIGNAL)
            return "traded", f"closed {self._amount(position.quantity)} at {self._price(price)}"
        if decision.action.side is None:
            return "held", ""
        return self._enter(bar, candle, inputs, decision, now_ms)

    def _enter(
        self, bar: int, candle: paper.Bar, inputs: cycle.CycleInputs, decision: cycle.Decision, now_ms: int
    ) -> tuple[str, str]:
        setup = self.setup
        atr = inputs.indicators.get(setup.atr_id)
        try:
            plan = cycle.plan_entry(
                decision.action,
                close=candle.close,
                equity=inputs.equity,
                atr=atr,
                rules=setup.rules,
                market=setup.terms,
                terms=decision.terms,
            )
        except cycle.LevelUnavailable as exc:
            return "held", f"no entry: {exc}"
        if plan.quantity <= 0:
            return "rejected", f"sized to nothing at equity {money(inputs.equity)}"
        report = self._risk_report(plan, candle.close, inputs.equity, now_ms)
        if not report.approved:
            return "rejected", "risk gate rejected: " + "; ".join(check.message for check in report.failures())
        price = paper.slipped(candle.close, plan.side, self.slip)
        quantity = report.quantity
        if self._margin_missing(quantity, candle.close, plan.leverage or setup.leverage):
            return "rejected", "insufficient free margin on the paper exchange"
        fee = paper.fee(quantity, price, setup.terms.fee_rate)
        self.account.cash -= fee
        self.account.position = _Open(plan.side, quantity, price, fee, bar, plan.stop_loss, plan.take_profit)
        self.account.last_entry_ms[setup.market.symbol] = now_ms
        return "traded", f"{plan.order_side} {self._amount(quantity)} at {self._price(price)}"

    def _price(self, price: Decimal) -> str:
        return at_increment(price, self.setup.terms.tick)

    def _amount(self, quantity: Decimal) -> str:
        return at_increment(quantity, self.setup.terms.step)

    def _risk_report(self, plan: cycle.EntryPlan, close: Decimal, equity: Decimal, now_ms: int) -> RiskReport:
        """The RiskManager on the preview's inputs: the ticker's last price (the close), the
        trader's equity and free margin (flat: the cash), no other position on a one-market run."""
        setup = self.setup
        request = PlanRequest(
            symbol=setup.market.symbol,
            side=plan.order_side,
            entry_price=close,
            stop_loss=plan.stop_loss,
            take_profit=plan.take_profit,
            leverage=plan.leverage or setup.leverage,
            quantity=plan.quantity,
            live=False,
            fee_rate=setup.terms.fee_rate,
        )
        snapshot = AccountSnapshot(
            equity=equity,
            free_margin=self.account.cash,
            positions=(),
            last_entry_ms=dict(self.account.last_entry_ms),
            now_ms=now_ms,
        )
        halt = self.account.risk.halt if self.account.risk is not None else None
        return self.risk.evaluate(request, snapshot, setup.market, halt=halt)

    def _margin_missing(self, quantity: Decimal, close: Decimal, leverage: int) -> bool:
        """The paper exchange's own check at the order: margin at the close plus the taker fee."""
        required = paper.initial_margin(quantity, close, leverage)
        return required + paper.fee(quantity, close, self.setup.terms.fee_rate) > self.account.cash

    # --- the run -------------------------------------------------------------------------------

    def run(self, progress: Progress | None) -> TraderRun:
        if self.start:
            self.evaluation.feed(self.candles.slice(0, self.start), sentiment=self.sentiment[: self.start])
        for bar in range(self.start, len(self.candles)):
            self.step(bar)
            if progress is not None:
                progress(bar - self.start + 1, len(self.candles) - self.start)
        self._mark_open()
        period = self.candles.slice(self.start, len(self.candles))
        trades = tuple(self.account.trades)
        result = BacktestResult(
            candles=period,
            params=_params(self.setup),
            signal_codes=self.codes,
            trades=_trade_arrays(trades, period),
            equity=self.equity,
            in_position=self.held,
        )
        return TraderRun(result=result, trades=trades, decisions=tuple(self.decisions))

    def _mark_open(self) -> None:
        """A position still open after the last candle: marked to the last close, no exit fee."""
        position = self.account.position
        if position is None:
            return
        last = len(self.candles) - 1
        close = _decimal(self.candles.close[last])
        gross = paper.unrealized_pnl(position.state, close)
        exit_ms = int(self.candles.open_time[last])
        self._trade(position, exit_ms=exit_ms, price=close, gross=gross, fees=position.entry_fee, reason=END_OPEN)


def _params(setup: TraderSetup) -> BacktestParams:
    """The engine's parameters that describe this run, for the reports (the trader's rules decide)."""
    rules = setup.rules

    def pct(rule: cycle.LevelRule) -> float | None:
        return float(rule.value) if rule.kind == "percent" and rule.value > 0 else None

    return BacktestParams(
        cash=float(setup.cash),
        fee_bps=float(setup.terms.fee_rate * paper.BPS),
        slippage_bps=float(setup.terms.slippage * paper.BPS),
        size_pct=float(rules.sizing_pct) if rules.sizing == "fixed" else 100.0,
        sl_pct=pct(rules.stop_loss),
        tp_pct=pct(rules.take_profit),
        fill=FILL_CLOSE,
    )


def _trade_arrays(trades: tuple[SimTrade, ...], period: CandleArrays) -> Trades:
    times = period.open_time
    reasons = {reason: code for code, reason in enumerate(EXIT_REASONS)}

    def column(values: list, dtype: type) -> np.ndarray:
        return np.array(values, dtype=dtype)

    return Trades(
        entry_bar=column([int(np.searchsorted(times, t.entry_ms)) for t in trades], np.int64),
        exit_bar=column([int(np.searchsorted(times, t.exit_ms)) for t in trades], np.int64),
        side=column([paper.sign(t.side) for t in trades], np.int8),
        entry_price=column([float(t.entry_price) for t in trades], np.float64),
        exit_price=column([float(t.exit_price) for t in trades], np.float64),
        quantity=column([float(t.quantity) for t in trades], np.float64),
        fees=column([float(t.fees) for t in trades], np.float64),
        pnl=column([float(t.pnl) for t in trades], np.float64),
        reason=column([reasons[t.reason] for t in trades], np.int8),
    )


def simulate_trader(
    setup: TraderSetup,
    candles: CandleArrays,
    *,
    sentiment: np.ndarray | None = None,
    start: int = 0,
    record: bool = False,
    progress: Progress | None = None,
    decider: cycle.DecisionMaker | None = None,
) -> TraderRun:
    """Run the trader over `candles[start:]`; the candles before `start` only warm the strategy
    up (the worker's evaluation reads every stored candle from the first). `sentiment` is the
    strategy's input at each candle's close (None: missing throughout). `record` keeps every
    decision (the dry run); `progress` is told (candles done, candles in all). `decider` is the
    AI mode's decision maker, bound by the caller to the trader's model (or its replay)."""
    if not 0 <= start < len(candles):
        raise ValueError(f"start {start} is outside the {len(candles)} candles")
    if sentiment is None:
        sentiment = np.full(len(candles), np.nan)
    if len(sentiment) != len(candles):
        raise ValueError(f"{len(sentiment)} sentiment values for {len(candles)} candles")
    return _Simulation(setup, candles, sentiment, start=start, record=record, decider=decider).run(progress)
