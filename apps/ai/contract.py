"""The trade-plan contract: what a model may answer, as a pydantic model and its strict JSON Schema (pure).

Model output is untrusted input (DESIGN.md, safety invariant 5). An answer becomes a plan only after
the schema (`TradePlanOutput`) and then our own checks (`plan_check`: the symbol is the trader's, the
numbers are finite and bounded, stop and target lie on the right sides of the price, leverage within
the market's maximum) both accept it.
"""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# Bumped whenever the schema changes: part of every prompt hash, so cached and replayed answers
# written for another schema are never reused.
SCHEMA_VERSION = "trade-plan-1"
MAX_REASON_LENGTH = 280
MAX_EVIDENCE = 8
MAX_LEVERAGE = 125
# A stop or target further than this share of the price away is refused as an outlier, not a plan.
MAX_PRICE_DISTANCE = 0.5


class PlanAction(StrEnum):
    OPEN_LONG = "open_long"
    OPEN_SHORT = "open_short"
    CLOSE = "close"
    HOLD = "hold"


OPENING = (PlanAction.OPEN_LONG, PlanAction.OPEN_SHORT)


class Evidence(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    source: Literal["indicator", "signal", "price", "news", "sentiment", "position", "risk"]
    value: str = Field(max_length=80)
    observation: str = Field(max_length=200)


class TradePlanOutput(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    action: PlanAction
    symbol: str = Field(min_length=1, max_length=40)
    size: float = Field(ge=0, le=1, description="Fraction of equity: 0 < size <= 1 when opening, 0 for hold/close.")
    leverage: int = Field(ge=1, le=MAX_LEVERAGE)
    stop_loss: float | None = Field(gt=0, description="Stop-loss price, or null.")
    take_profit: float | None = Field(gt=0, description="Take-profit price, or null.")
    confidence: float = Field(ge=0, le=1)
    reason: str = Field(max_length=MAX_REASON_LENGTH, description="A short summary of why.")
    evidence: list[Evidence] = Field(max_length=MAX_EVIDENCE)


@functools.cache
def _base_schema() -> dict[str, Any]:
    schema = TradePlanOutput.model_json_schema()
    # Strict structured output wants every property required (optional ones are nullable instead)
    # and no others allowed, at every level.
    for node in (schema, *schema.get("$defs", {}).values()):
        if node.get("type") == "object":
            node["required"] = list(node["properties"])
            node["additionalProperties"] = False
    return schema


def trade_plan_json_schema(symbols: Sequence[str] | None = None) -> dict[str, Any]:
    """The strict JSON Schema published to providers and turned into the local grammar.

    With `symbols`, the symbol is an enum of them, so a constrained model cannot even name another."""
    schema = copy.deepcopy(_base_schema())
    if symbols:
        schema["properties"]["symbol"] = {"type": "string", "enum": list(symbols), "title": "Symbol"}
    return schema


@dataclass(frozen=True)
class PlanBounds:
    symbols: tuple[str, ...]
    prices: Mapping[str, Decimal]
    max_leverage: int
    max_size: float = 1.0


def _finite(name: str, value: float | None) -> list[str]:
    if value is not None and not math.isfinite(value):
        return [f"{name} must be a finite number, not {value}"]
    return []


def _price_side_problems(plan: TradePlanOutput, price: Decimal) -> list[str]:
    problems = []
    below, above = ("stop_loss", "take_profit") if plan.action == PlanAction.OPEN_LONG else ("take_profit", "stop_loss")
    side = "long" if plan.action == PlanAction.OPEN_LONG else "short"
    for name in ("stop_loss", "take_profit"):
        value = getattr(plan, name)
        if value is None:
            continue
        if value <= 0 or abs(Decimal(str(value)) - price) > price * Decimal(str(MAX_PRICE_DISTANCE)):
            problems.append(f"{name} {value} is more than {MAX_PRICE_DISTANCE:.0%} away from the price {price}")
        elif name == below and not Decimal(str(value)) < price:
            problems.append(f"{name} {value} must be below the price {price} for a {side}")
        elif name == above and not Decimal(str(value)) > price:
            problems.append(f"{name} {value} must be above the price {price} for a {side}")
    return problems


def plan_check(plan: TradePlanOutput, bounds: PlanBounds) -> list[str]:
    """Our own checks after the schema's; an empty list means the plan may go on to the risk gate."""
    problems: list[str] = []
    for name in ("size", "confidence", "stop_loss", "take_profit"):
        problems += _finite(name, getattr(plan, name))
    if problems:
        return problems
    if plan.symbol not in bounds.symbols:
        problems.append(f"symbol {plan.symbol!r} is not one of the trader's markets ({', '.join(bounds.symbols)})")
    if plan.leverage > bounds.max_leverage:
        problems.append(f"leverage {plan.leverage} is above the market's maximum {bounds.max_leverage}")
    if not 0 <= plan.confidence <= 1:
        problems.append(f"confidence {plan.confidence} must lie in [0, 1]")
    if plan.action in OPENING:
        if not 0 < plan.size <= bounds.max_size:
            problems.append(f"size {plan.size} must be above 0 and at most {bounds.max_size} to open a position")
        price = bounds.prices.get(plan.symbol)
        if price is None or price <= 0:
            if plan.stop_loss is not None or plan.take_profit is not None:
                problems.append(f"no current price for {plan.symbol!r} to check the stop and target against")
        else:
            problems += _price_side_problems(plan, price)
    elif plan.size != 0:
        problems.append(f"size must be 0 for {plan.action.value}, not {plan.size}")
    return problems
