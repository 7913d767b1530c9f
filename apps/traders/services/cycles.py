"""The trading cycle of one trader: on each market's newest closed candle, gather the inputs, decide
(apps.traders.cycle, the same pure functions `backtest --trader` calls), and act through the trade
plan path every plan takes (preview -> risk gate -> execute), recording the decision.

Exactly once: a cycle holds the trader's row lock (`skip_locked`: a second worker skips instead
of waiting), and a decision is stored once per (trader, market, candle) in the same transaction as
the plan it made. A worker killed mid-cycle commits nothing (no plan, so no order: the order is sent
by the plan's own task after the commit); a retried task finds the decision and does nothing more.

Failures: a market whose cycle raises is rolled back to its savepoint and logged as an `error`
decision; the next cycle goes on. FAILURES_TO_ERROR cycles in a row that fail put the trader in
`error` with a critical alert.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial

from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from apps.audit.models import DecisionLog
from apps.core.events import EventType, publish
from apps.exchanges.adapters.factory import adapter_for_account
from apps.exchanges.adapters.paper import PaperAdapter
from apps.exchanges.models import ExchangeAccount
from apps.exchanges.selectors import account_exposure
from apps.market.arrays import CandleArrays
from apps.market.candles_io import datetime_to_ms, ms_to_datetime
from apps.market.models import Market
from apps.market.selectors import candle_arrays, feed_horizon
from apps.market.timeframes import timeframe_ms
from apps.signals.evaluation import EvaluationCache, LiveEvaluation
from apps.signals.models import Signal
from apps.signals.services import live_evaluation_feed
from apps.strategies.spec import ATR, StrategySpec
from apps.traders import cycle
from apps.traders.models import ACTIVE_TRADER_STATUSES, OPEN_PLAN_STATUSES, Alert, TradePlan, Trader
from apps.traders.selectors import (
    market_terms,
    trader_entry_rules,
    trader_halt_kind,
    trader_strategy_spec,
    trader_timeframe,
)
from apps.traders.services import ai
from apps.traders.services.alerts import alert_raise
from apps.traders.services.errors import TradeRefused
from apps.traders.services.plans import PlanInput, trade_plan_close, trade_plan_execute, trade_plan_preview
from apps.traders.services.reconcile import trade_plans_advance
from apps.traders.services.traders import trader_status_publish

logger = logging.getLogger(__name__)
CYCLE_TASK = "apps.traders.tasks.run_trader_cycle"
FAILURES_TO_ERROR = 3
ONE_MS = 1
Outcome = DecisionLog.Outcome
WAITING_STATUSES = (TradePlan.Status.PENDING, TradePlan.Status.ENTRY_SUBMITTED)

# This worker process's indicator state per (strategy, version, market, timeframe): rebuilt from the
# stored candles when missing, so it only saves time (apps.signals.evaluation.EvaluationCache).
EVALUATIONS = EvaluationCache()


@dataclass(frozen=True)
class MarketOutcome:
    symbol: str
    outcome: str  # a DecisionLog outcome, or "skipped"
    note: str


@dataclass(frozen=True)
class CycleReport:
    trader_id: int
    ran: bool
    note: str
    markets: tuple[MarketOutcome, ...] = ()
    failed: bool = False

    @property
    def outcome(self) -> str:
        """ran, failed or skipped: the cycle metrics' label (apps.core.prometheus)."""
        if not self.ran:
            return "skipped"
        return "failed" if self.failed else "ran"

    def __str__(self) -> str:
        if not self.ran:
            return f"trader {self.trader_id}: {self.note}"
        parts = "; ".join(f"{m.symbol} {m.outcome}: {m.note}" for m in self.markets) or "no markets"
        return f"trader {self.trader_id}: {parts}"


class CycleSkip(Exception):
    """Nothing to decide on this market now (no candle released yet, or already decided)."""


# --- the strategy's view of the candle -------------------------------------------------------------


@dataclass(frozen=True)
class CandleView:
    open_time: datetime
    price: Decimal  # the candle's close
    signal: str | None  # the accepted direction on this candle
    values: dict[str, float | None]  # price and indicator values on this candle
    sentiment: float | None  # the news sentiment the strategy read at the close; None: missing


def indicator_spec(spec: StrategySpec, atr_period: int) -> StrategySpec:
    """The spec with the ATR the trader's ATR levels read added (when the spec lacks it)."""
    atr_id = f"atr_{atr_period}"
    if any(indicator.id == atr_id for indicator in spec.indicators):
        return spec
    return spec.model_copy(update={"indicators": [*spec.indicators, ATR(id=atr_id, kind="atr", period=atr_period)]})


def atr_id(trader: Trader) -> str:
    return f"atr_{trader.atr_period}"


def candle_view(*, spec: StrategySpec, key: tuple, market: Market, timeframe: str, candle: datetime) -> CandleView:
    """Feed the stored candles up to `candle` through the process's live evaluation (from the first
    stored candle, as the backtest reads them) and read that candle's signal and values."""
    live = EVALUATIONS.get(key)
    candle_ms = datetime_to_ms(candle)
    if live is None or (live.last_open_time_ms is not None and live.last_open_time_ms > candle_ms):
        live = LiveEvaluation(spec, cooldown_bars=spec.cooldown_bars)
    start = ms_to_datetime(live.last_open_time_ms + ONE_MS) if live.last_open_time_ms is not None else None
    candles = candle_arrays(market=market, timeframe=timeframe, start=start, end=ms_to_datetime(candle_ms + ONE_MS))
    live_evaluation_feed(live=live, market=market, timeframe=timeframe, candles=candles)
    EVALUATIONS.put(key, live)
    if live.last_open_time_ms != candle_ms:
        raise CycleSkip(f"the {timeframe} candle of {candle:%Y-%m-%d %H:%M} is not stored")
    # From the evaluation, not from what this call fed: a retry on the same candle feeds nothing.
    signal = live.last_signal.value if live.last_signal is not None else None
    values = live.values
    # Recorded beside the indicator values, as the decision reads it (null when missing).
    sentiment = values.pop("sentiment", None)
    return CandleView(
        open_time=candle, price=Decimal(repr(values["close"])), signal=signal, values=values, sentiment=sentiment
    )


# --- positions and orders on the way -------------------------------------------------------------------


def _open_plan(trader: Trader, market: Market) -> TradePlan | None:
    return (
        TradePlan.objects.filter(trader=trader, market=market, status__in=OPEN_PLAN_STATUSES)
        .order_by("created_at", "pk")
        .first()
    )


def _position_and_busy(plan: TradePlan | None) -> tuple[cycle.Position | None, str]:
    if plan is None:
        return None, ""
    if plan.exit_requested:
        return None, f"the exit of plan {plan.pk} is on its way"
    if plan.status in WAITING_STATUSES:
        return None, f"the entry of plan {plan.pk} is on its way ({plan.get_status_display().lower()})"
    side = cycle.LONG if plan.side == "buy" else cycle.SHORT
    return cycle.Position(side, plan.filled_quantity, plan.average_entry_price or plan.reference_price), ""


def _settle_paper(account: ExchangeAccount) -> None:
    """Fill a paper account's resting stops and targets on the released candles before deciding, as
    the backtest checks them during a bar before the decision on its close."""
    if account.mode != ExchangeAccount.Mode.PAPER:
        return
    PaperAdapter(account).sync()
    trade_plans_advance(accounts=[account])


# --- one market ----------------------------------------------------------------------------------------


@dataclass
class _Record:
    """The decision row being built; saved once at the end of the market's cycle."""

    inputs: dict
    action: str = cycle.Action.HOLD
    reason: str = ""
    outcome: str = Outcome.HELD
    plan: TradePlan | None = None
    risk_report: dict | None = None
    signal: Signal | None = None
    error: str = ""
    halt: str | None = None  # the halt the decision read (after this market's settlement)
    answer: cycle.ModelAnswer | None = None  # an AI decision's model answer


def _inputs_snapshot(view: CandleView, inputs: cycle.CycleInputs, halt: str | None) -> dict:
    position = inputs.position
    return {
        "price": str(view.price),
        "values": view.values,
        "signal": view.signal,
        "sentiment": inputs.sentiment,
        "position": None
        if position is None
        else {"side": position.side, "quantity": str(position.quantity), "entry_price": str(position.entry_price)},
        "busy": inputs.busy,
        "equity": str(inputs.equity),
        "halt": halt,
    }


def _enter(
    trader: Trader, market: Market, decision: cycle.Decision, view: CandleView, record: _Record, equity: Decimal
):
    try:
        entry = cycle.plan_entry(
            decision.action,
            close=view.price,
            equity=equity,
            atr=view.values.get(atr_id(trader)),
            rules=trader_entry_rules(trader=trader),
            market=market_terms(market=market),
            terms=decision.terms,
        )
    except cycle.LevelUnavailable as exc:
        record.action, record.reason = cycle.Action.HOLD, f"{decision.reason}; no entry: {exc}"
        return
    if entry.quantity <= 0:
        record.outcome, record.reason = Outcome.REJECTED, f"{decision.reason}; sized to nothing at equity {equity}"
        return
    plan = trade_plan_preview(
        plan=PlanInput(
            trader_id=trader.pk,
            symbol=market.symbol,
            side=entry.order_side,
            quantity=entry.quantity,
            stop_loss=entry.stop_loss,
            take_profit=entry.take_profit,
            leverage=entry.leverage or trader.leverage,
            reason=decision.reason,
            source=TradePlan.Source.TRADER,
            source_ref=f"signal {record.signal.pk}" if record.signal else "",
        ),
        user=None,
    )
    record.plan, record.risk_report = plan, plan.risk_report
    if plan.status != TradePlan.Status.PREVIEWED:
        record.outcome = Outcome.REJECTED
        return
    try:
        plan = trade_plan_execute(plan_id=plan.pk, user=None)
    except TradeRefused:
        plan.refresh_from_db()
        record.plan, record.risk_report, record.outcome = plan, plan.risk_report, Outcome.REJECTED
        return
    record.plan, record.risk_report, record.outcome = plan, plan.risk_report, Outcome.TRADED


def _market_cycle(
    trader: Trader, spec: StrategySpec, market: Market, *, now: datetime, asked: Asked
) -> tuple[MarketOutcome, _Record | None]:
    """The market's outcome, and its decision's record when one was saved."""
    timeframe = spec.timeframe
    candle = feed_horizon(market=market, timeframe=timeframe, source=trader.account.feed_source)
    if candle is None:
        return MarketOutcome(market.symbol, "skipped", f"no {timeframe} candle released yet"), None
    if DecisionLog.objects.filter(trader=trader, market=market, candle_open_time=candle).exists():
        return MarketOutcome(market.symbol, "skipped", f"already decided on {candle:%Y-%m-%d %H:%M}"), None
    started = time.perf_counter()
    record = _Record(inputs={})
    try:
        with transaction.atomic():
            _decide_and_act(trader, spec, market, candle, record, asked)
    except CycleSkip as exc:
        return MarketOutcome(market.symbol, "skipped", str(exc)), None
    except Exception as exc:  # any failure: recorded, and the next cycle goes on
        logger.exception("Trader %s cycle on %s failed", trader.name, market.symbol)
        record.outcome, record.plan, record.error = Outcome.ERROR, None, (str(exc) or type(exc).__name__)[:1000]
        record.reason = record.reason or "the cycle failed"
    decision = DecisionLog.objects.create(
        trader=trader,
        market=market,
        timeframe=timeframe,
        candle_open_time=candle,
        decided_at=now,
        mode=trader.decision_mode,
        strategy_version=trader.strategy_version or (trader.strategy.version if trader.strategy else None),
        inputs=record.inputs,
        action=record.action,
        reason=record.reason[:500],
        signal=record.signal,
        plan=record.plan,
        risk_report=record.risk_report,
        outcome=record.outcome,
        error=record.error,
        latency_ms=round((time.perf_counter() - started) * 1000),
        **ai.decision_ai_fields(record.answer),
    )
    publish(
        EventType.DECISION,
        {
            "decision_id": decision.pk,
            "trader_id": trader.pk,
            "market_id": market.pk,
            "symbol": market.symbol,
            "action": decision.action,
            "outcome": decision.outcome,
            "plan_id": decision.plan_id,
        },
    )
    return MarketOutcome(market.symbol, record.outcome, record.error or record.reason), record


def cycle_inputs(
    trader: Trader, spec: StrategySpec, market: Market, candle: datetime
) -> tuple[CandleView, cycle.CycleInputs]:
    """What a decision on `candle` reads: the strategy's view of it, the position, the equity.
    Writes nothing (the AI prompt preview reads the same)."""
    account = trader.account
    key = (trader.strategy_id, spec.model_dump_json(), trader.atr_period, market.pk, spec.timeframe)
    view = candle_view(
        spec=indicator_spec(spec, trader.atr_period), key=key, market=market, timeframe=spec.timeframe, candle=candle
    )
    position, busy = _position_and_busy(_open_plan(trader, market))
    equity = account_exposure(adapter=adapter_for_account(account), exchange=market.exchange, quote=market.quote).equity
    inputs = cycle.CycleInputs(
        symbol=market.symbol,
        candle_open_ms=datetime_to_ms(candle),
        price=view.price,
        signal=view.signal,
        indicators=view.values,
        sentiment=view.sentiment,
        position=position,
        equity=equity,
        can_short=market.type != Market.Type.SPOT,
        busy=busy,
    )
    return view, inputs


def recent_candles(market: Market, timeframe: str, candle: datetime) -> CandleArrays:
    """The stored candles an AI prompt shows, ending with `candle`."""
    span = timeframe_ms(timeframe) * ai.CONTEXT_CANDLES
    start = ms_to_datetime(max(datetime_to_ms(candle) - span + ONE_MS, 0))
    return candle_arrays(
        market=market, timeframe=timeframe, start=start, end=ms_to_datetime(datetime_to_ms(candle) + ONE_MS)
    )


# Answers asked before the cycle's transaction, by (market id, prompt hash).
Asked = dict[tuple[int, str], cycle.ModelAnswer]


def _decision_maker(
    trader: Trader, market: Market, timeframe: str, candle: datetime, asked: Asked | None = None
) -> cycle.DecisionMaker:
    """The trader's decision maker. In ai mode an answer asked ahead for exactly this prompt is used;
    only a prompt that changed since (a stop filled by the settlement, say) is asked here."""
    if trader.decision_mode != cycle.AI_MODE:
        return cycle.decision_maker(trader.decision_mode)

    def ask(inputs: cycle.CycleInputs) -> cycle.ModelAnswer:
        built = ai.prompt_build(
            trader=trader,
            market=market,
            timeframe=timeframe,
            inputs=inputs,
            candles=recent_candles(market, timeframe, candle),
        )
        ahead = (asked or {}).get((market.pk, built.prompt.hash()))
        return ahead if ahead is not None else ai.trader_ai_ask(trader=trader, built=built)

    return ai.ai_decision_maker(trader=trader, ask=ask)


def _ask_ahead(trader_id: int) -> Asked:
    """An AI trader's model answers for its markets' undecided candles, asked outside any transaction:
    a model takes seconds (a local one, both cores), and the cycle's transaction holds the trader's
    row lock, on SQLite the database's write lock. The cycle then decides under its lock on its own
    reading, and uses an answer only when its prompt is the very one asked (same hash)."""
    trader = (
        Trader.objects.select_related("account", "risk_profile", "strategy", "ai_model_config", "prompt_template")
        .filter(pk=trader_id, decision_mode=cycle.AI_MODE, status__in=ACTIVE_TRADER_STATUSES)
        .first()
    )
    spec = trader_strategy_spec(trader=trader) if trader is not None else None
    if trader is None or spec is None:
        return {}
    asked: Asked = {}
    for market in trader.markets.order_by("pk"):
        candle = feed_horizon(market=market, timeframe=spec.timeframe, source=trader.account.feed_source)
        if candle is None or DecisionLog.objects.filter(trader=trader, market=market, candle_open_time=candle).exists():
            continue
        try:
            _view, inputs = cycle_inputs(trader, spec, market, candle)
            answer = _decision_maker(trader, market, spec.timeframe, candle).decide(inputs).answer
        except CycleSkip:
            continue
        except Exception:  # the cycle reads again under its lock, and records any failure there
            logger.exception("Trader %s: asking the model ahead on %s failed", trader.name, market.symbol)
            continue
        if answer is not None:
            asked[(market.pk, answer.prompt_hash)] = answer
    return asked


def _decide_and_act(
    trader: Trader, spec: StrategySpec, market: Market, candle: datetime, record: _Record, asked: Asked
) -> None:
    _settle_paper(trader.account)
    view, inputs = cycle_inputs(trader, spec, market, candle)
    if view.signal is not None:
        record.signal = Signal.objects.filter(
            strategy_id=trader.strategy_id, market=market, timeframe=spec.timeframe, candle_open_time=candle
        ).first()
    halt = trader_halt_kind(trader=trader)
    record.halt = halt.value if halt else None
    record.inputs = _inputs_snapshot(view, inputs, record.halt)
    decision = _decision_maker(trader, market, spec.timeframe, candle, asked).decide(inputs)
    record.action, record.reason, record.answer = decision.action, decision.reason, decision.answer
    if decision.action == cycle.Action.EXIT:
        plan = _open_plan(trader, market)
        assert plan is not None
        record.plan = trade_plan_close(plan=plan, user=None, reason=f"trader {trader.name}: {decision.reason}")
        record.outcome = Outcome.TRADED
    elif decision.action.side is not None:
        _enter(trader, market, decision, view, record, inputs.equity)


# --- the cycle -----------------------------------------------------------------------------------------


def trader_cycle_run(*, trader_id: int, now: Callable[[], datetime] = timezone.now) -> CycleReport:
    """One cycle of one trader over its markets. Safe to call from any number of workers at once
    (two at once may both ask an AI trader's model ahead; only one decides)."""
    asked = _ask_ahead(trader_id)
    with transaction.atomic():
        trader = (
            Trader.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("account", "risk_profile", "strategy", "ai_model_config", "prompt_template")
            .filter(pk=trader_id)
            .first()
        )
        if trader is None:
            exists = Trader.objects.filter(pk=trader_id).exists()
            return CycleReport(
                trader_id, False, "skipped: another worker runs its cycle" if exists else "no such trader"
            )
        if trader.status not in ACTIVE_TRADER_STATUSES:
            return CycleReport(trader_id, False, f"skipped: the trader is {trader.status}")
        spec = trader_strategy_spec(trader=trader)
        if spec is None:
            return _fail(trader, now(), "its strategy (or pinned version) is missing or no longer validates")
        moment = now()
        results = [
            _market_cycle(trader, spec, market, now=moment, asked=asked) for market in trader.markets.order_by("pk")
        ]
        outcomes = tuple(outcome for outcome, _record in results)
        return _finish(trader, moment, outcomes, halted=_halted_as_read(results))


def _halted_as_read(results: list[tuple[MarketOutcome, _Record | None]]) -> bool | None:
    """Whether the last market's decision read a halt, when nothing the cycle did since can have
    changed it: every market decided and held (no plan, no failure, no write after the read but its
    decision record). None otherwise: the halt must be read again."""
    if not results or any(record is None or record.outcome != Outcome.HELD for _o, record in results):
        return None
    last = results[-1][1]
    assert last is not None
    return last.halt is not None


def _finish(
    trader: Trader, moment: datetime, outcomes: tuple[MarketOutcome, ...], *, halted: bool | None = None
) -> CycleReport:
    """Record the cycle on the trader. `halted` is the halt already read, None to read it now."""
    decided = [o for o in outcomes if o.outcome != "skipped"]
    failed = bool(decided) and all(o.outcome == Outcome.ERROR for o in decided)
    if failed:
        return _fail(trader, moment, "; ".join(f"{o.symbol}: {o.note}" for o in decided), outcomes)
    changes: dict = {"heartbeat_at": moment}
    if decided:
        changes.update(last_cycle_at=moment, consecutive_failures=0)
    if halted is None:
        halted = trader_halt_kind(trader=trader) is not None
    status = Trader.Status.HALTED if halted else Trader.Status.RUNNING
    if status != trader.status:
        changes.update(status=status, status_reason="a halt blocks new entries" if halted else "")
    Trader.objects.filter(pk=trader.pk).update(**changes)
    trader_status_publish(trader_id=trader.pk, status=status, heartbeat_at=moment)
    return CycleReport(trader.pk, True, "ran", outcomes)


def _fail(trader: Trader, moment: datetime, error: str, outcomes: tuple[MarketOutcome, ...] = ()) -> CycleReport:
    failures = trader.consecutive_failures + 1
    Trader.objects.filter(pk=trader.pk).update(heartbeat_at=moment, consecutive_failures=failures)
    if failures >= FAILURES_TO_ERROR:
        trader.status = Trader.Status.ERROR
        trader.status_reason = f"{failures} cycles in a row failed; last: {error}"[:500]
        trader._change_reason = "stopped after failed cycles"  # type: ignore[attr-defined]
        trader.save(update_fields=["status", "status_reason", "updated_at"])
        alert_raise(
            kind=Alert.Kind.TRADER_ERROR,
            subject=f"trader:{trader.pk}",
            account=trader.account,
            message=f"Trader {trader.name} stopped after {failures} failed cycles: {error}"[:1000],
        )
    trader_status_publish(trader_id=trader.pk, status=trader.status, heartbeat_at=moment)
    return CycleReport(trader.pk, True, f"failed ({failures} in a row): {error}", outcomes, failed=True)


# --- dispatch ------------------------------------------------------------------------------------------


def _enqueue(trader_ids: list[int]) -> int:
    for trader_id in trader_ids:
        # After the commit: the task runs in another process and must see the released candles.
        transaction.on_commit(partial(async_task, CYCLE_TASK, trader_id))
    return len(trader_ids)


def trader_cycles_dispatch() -> int:
    """One cycle task per active trader (the minute's schedule)."""
    return _enqueue(list(Trader.objects.filter(status__in=ACTIVE_TRADER_STATUSES).values_list("pk", flat=True)))


def trader_cycles_enqueue(*, market: Market, timeframe: str, source: str, **_signal: object) -> int:
    """One cycle task per active trader that trades `market` on `timeframe` with prices from `source`,
    as soon as its candles are released. Connected (TradersConfig.ready) to
    apps.market.events.candles_released."""
    traders = Trader.objects.filter(status__in=ACTIVE_TRADER_STATUSES, markets=market).select_related(
        "strategy", "account"
    )
    due = [
        trader.pk
        for trader in traders
        if trader.account.feed_source == source and trader_timeframe(trader=trader) == timeframe
    ]
    return _enqueue(due)
