"""What an AI trader would send its model now: the prompt of a cycle on the newest released candle
of one of its markets, built by the same code as the cycle's (apps.traders.services.cycles and
.ai), with the schema the answer must follow and the token estimate. Reads only: no model is asked,
nothing is written, and like every prompt it holds no secret."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from apps.core.errors import ServiceValidationError
from apps.market.models import Market
from apps.market.selectors import feed_horizon
from apps.traders import cycle
from apps.traders.models import Trader
from apps.traders.selectors import trader_market, trader_strategy_spec
from apps.traders.services import ai
from apps.traders.services.cycles import CycleSkip, cycle_inputs, recent_candles


@dataclass(frozen=True)
class PromptPreview:
    trader: Trader
    market: Market
    candle: datetime
    built: ai.BuiltPrompt
    would_ask: bool
    note: str  # why the model would (not) be asked on this candle

    @property
    def schema(self) -> dict[str, Any]:
        return self.built.schema


def _would_ask(trader: Trader, inputs: cycle.CycleInputs) -> tuple[bool, str]:
    if trader.decision_mode != cycle.AI_MODE:
        return False, "the trader is in rules mode: this is what the AI mode would send"
    if inputs.busy:
        return False, f"not asked on this candle: waiting ({inputs.busy})"
    if trader.ai_ask == cycle.ASK_ON_SIGNAL and inputs.signal is None:
        return False, "not asked on this candle: the strategy fired no signal (the trader asks on signals)"
    return True, "the model would be asked on this candle"


def trader_prompt_preview(*, trader: Trader, market_id: int | None = None) -> PromptPreview:
    """Raises ServiceValidationError naming what is missing (a strategy, a market, a released candle)."""
    spec = trader_strategy_spec(trader=trader)
    if spec is None:
        raise ServiceValidationError("strategy", f"trader {trader.name} has no (valid) strategy: set one first")
    market = trader_market(
        trader=trader,
        field="market",
        asked=None if market_id is None else f"market {market_id}",
        matches=lambda market: market.pk == market_id,
    )
    candle = feed_horizon(market=market, timeframe=spec.timeframe, source=trader.account.feed_source)
    if candle is None:
        raise ServiceValidationError("market", f"no {spec.timeframe} candle of {market.symbol} is released yet")
    try:
        _view, inputs = cycle_inputs(trader, spec, market, candle)
    except CycleSkip as exc:
        raise ServiceValidationError("market", str(exc)) from None
    built = ai.prompt_build(
        trader=trader,
        market=market,
        timeframe=spec.timeframe,
        inputs=inputs,
        candles=recent_candles(market, spec.timeframe, candle),
    )
    would_ask, note = _would_ask(trader, inputs)
    return PromptPreview(trader=trader, market=market, candle=candle, built=built, would_ask=would_ask, note=note)
