"""Reads for `backtest --trader` and `trader_dry_run`: the trader, its market, its rules and the
stored candles, handed to the pure simulation (apps.backtests.trader_sim). Nothing is written and
nothing is sent.

Errors are ServiceValidationError naming what is wrong in plain words: an unknown trader (with the
known names), a trader without a strategy (or whose pinned version no longer validates), a market
it does not trade, a period without candles.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import numpy as np

from apps.backtests.trader_sim import Progress, TraderRun, TraderSetup, simulate_trader
from apps.core.errors import ServiceValidationError
from apps.market.arrays import CandleArrays
from apps.market.candles_io import datetime_to_ms
from apps.market.models import Market
from apps.market.selectors import candle_arrays
from apps.market.timeframes import timeframe_ms
from apps.news.selectors import candle_sentiment
from apps.strategies.spec import StrategySpec
from apps.traders import cycle
from apps.traders.models import Trader
from apps.traders.selectors import (
    market_terms,
    trader_by_name,
    trader_entry_rules,
    trader_market,
    trader_strategy_spec,
)
from apps.traders.services import ai
from apps.traders.services.cycles import atr_id, indicator_spec
from apps.traders.services.plans import market_limits

TIME_FORMAT = "%Y-%m-%d %H:%M"


@dataclass(frozen=True)
class TraderPeriod:
    """Which candles to decide on: `start`/`end` (open times, end exclusive) or the `last` N stored."""

    start: datetime | None = None
    end: datetime | None = None
    last: int | None = None


@dataclass(frozen=True)
class TraderBacktest:
    trader: Trader
    market: Market
    spec: StrategySpec
    setup: TraderSetup
    run: TraderRun
    # AI mode: how many answers came from each source ("model", "cache", "replay", "none")
    ai_sources: Counter[str] = field(default_factory=Counter)


def _spec(trader: Trader) -> StrategySpec:
    spec = trader_strategy_spec(trader=trader)
    if spec is None:
        what = (
            "has no strategy"
            if trader.strategy is None
            else "has a strategy (or pinned version) that no longer validates"
        )
        raise ServiceValidationError("trader", f"trader {trader.name!r} {what}: set one on its page first")
    return spec


def trader_setup(*, trader: Trader, market: Market, spec: StrategySpec, cash: Decimal) -> TraderSetup:
    return TraderSetup(
        spec=indicator_spec(spec, trader.atr_period),
        decision_mode=trader.decision_mode,
        rules=trader_entry_rules(trader=trader),
        terms=market_terms(market=market),
        limits=trader.risk_profile.limits(),
        market=market_limits(market),
        leverage=trader.leverage,
        atr_id=atr_id(trader),
        cash=cash,
        timeframe_ms=timeframe_ms(spec.timeframe),
    )


def _candles(market: Market, timeframe: str, period: TraderPeriod) -> tuple[CandleArrays, int]:
    """Every stored candle from the first (the strategy warms up as the worker's does) to the end of
    the period, and the index of the period's first candle."""
    candles = candle_arrays(market=market, timeframe=timeframe, start=None, end=period.end)
    if period.last is not None:
        start = max(len(candles) - period.last, 0)
    elif period.start is not None:
        start = int(np.searchsorted(candles.open_time, datetime_to_ms(period.start)))
    else:
        start = 0
    if start >= len(candles):
        raise ServiceValidationError("candles", _no_candles(market, timeframe, period))
    return candles, start


def _no_candles(market: Market, timeframe: str, period: TraderPeriod) -> str:
    within = ""
    if period.start is not None:
        within += f" from {period.start:{TIME_FORMAT}}"
    if period.end is not None:
        within += f" before {period.end:{TIME_FORMAT}}"
    return (
        f"no {timeframe} candles for {market.symbol} on {market.exchange}{within}. "
        "Import some with manage.py import_candles."
    )


def _ai_decider(
    trader: Trader, market: Market, timeframe: str, candles: CandleArrays, sources: Counter[str]
) -> cycle.AIDecision:
    """The AI mode over stored candles: each prompt is built as the worker's would be on that candle
    (the candles up to it, the headlines published before its close), then replayed or asked
    through the cache (apps.traders.services.ai.backtest_ai_ask)."""

    def ask(inputs: cycle.CycleInputs) -> cycle.ModelAnswer:
        end = int(np.searchsorted(candles.open_time, inputs.candle_open_ms, side="right"))
        built = ai.prompt_build(
            trader=trader, market=market, timeframe=timeframe, inputs=inputs, candles=candles.slice(0, end)
        )
        answer = ai.backtest_ai_ask(trader=trader, market=market, built=built, candle_open_ms=inputs.candle_open_ms)
        sources[answer.source] += 1
        return answer

    return ai.ai_decision_maker(trader=trader, ask=ask)


def trader_backtest(
    *,
    name: str,
    symbol: str | None,
    period: TraderPeriod,
    cash: Decimal,
    record: bool = False,
    progress: Progress | None = None,
) -> TraderBacktest:
    """Run trader `name` over the stored candles of one of its markets (the first by default)."""
    trader = trader_by_name(name=name)
    spec = _spec(trader)
    market = trader_market(trader=trader, field="symbol", asked=symbol, matches=lambda market: market.symbol == symbol)
    if not (cash.is_finite() and cash > 0):
        raise ServiceValidationError("cash", f"cash must be a positive amount, not {cash}")
    candles, start = _candles(market, spec.timeframe, period)
    setup = trader_setup(trader=trader, market=market, spec=spec, cash=cash)
    sentiment = candle_sentiment(market=market, timeframe=spec.timeframe, candles=candles)
    sources: Counter[str] = Counter()
    decider = None
    if trader.decision_mode == cycle.AI_MODE:
        decider = _ai_decider(trader, market, spec.timeframe, candles, sources)
    run = simulate_trader(
        setup, candles, sentiment=sentiment, start=start, record=record, progress=progress, decider=decider
    )
    return TraderBacktest(trader=trader, market=market, spec=spec, setup=setup, run=run, ai_sources=sources)
