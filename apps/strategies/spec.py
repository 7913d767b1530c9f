"""The strategy spec: JSON validated by pydantic (pure; no Django).

A spec names its indicators, then entry and exit rules for long and short built from
conditions: a threshold (`rsi_14 < 30`), a comparison of two series (`close > ema_200`), a
cross (`ema_50 crosses_above ema_200`), and nested `all` / `any` groups.

Series a condition may name: the candle fields (open, high, low, close, volume), `sentiment`
(an input series: the asset's rolling news sentiment at the candle's close, in [-1, 1], missing
where no headline counts, so a rule reading it is then false), and each indicator's outputs: its id
for single-output indicators, `<id>.upper|middle|lower` for Bollinger Bands and
`<id>.macd|signal|hist` for MACD.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PlainValidator,
    Tag,
    ValidationError,
    model_validator,
)

from apps.market.timeframes import TIMEFRAME_MS

CANDLE_SERIES = ("open", "high", "low", "close", "volume")
INPUT_SERIES = ("sentiment",)
MAX_PERIOD = 5000
IndicatorId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
Source = Literal["open", "high", "low", "close", "volume"]
Timeframe = Literal[tuple(TIMEFRAME_MS)]  # type: ignore[valid-type]


class _Strict(BaseModel):
    # NaN and infinity are not numbers a rule can use (NaN would even pass `le=10` checks unnoticed).
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class SMA(_Strict):
    id: IndicatorId
    kind: Literal["sma"]
    period: int = Field(ge=1, le=MAX_PERIOD)
    source: Source = "close"


class EMA(_Strict):
    id: IndicatorId
    kind: Literal["ema"]
    period: int = Field(ge=1, le=MAX_PERIOD)
    source: Source = "close"


class RSI(_Strict):
    id: IndicatorId
    kind: Literal["rsi"]
    period: int = Field(ge=2, le=MAX_PERIOD)
    source: Source = "close"


class ATR(_Strict):
    id: IndicatorId
    kind: Literal["atr"]
    period: int = Field(ge=1, le=MAX_PERIOD)


class BBands(_Strict):
    id: IndicatorId
    kind: Literal["bbands"]
    period: int = Field(ge=2, le=MAX_PERIOD)
    k: float = Field(2.0, gt=0, le=10)
    source: Source = "close"


class MACD(_Strict):
    id: IndicatorId
    kind: Literal["macd"]
    fast: int = Field(12, ge=2, le=MAX_PERIOD)
    slow: int = Field(26, ge=2, le=MAX_PERIOD)
    signal: int = Field(9, ge=1, le=MAX_PERIOD)
    source: Source = "close"

    @model_validator(mode="after")
    def _fast_below_slow(self) -> MACD:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be shorter than slow ({self.slow})")
        return self


Indicator = Annotated[Union[SMA, EMA, RSI, ATR, BBands, MACD], Field(discriminator="kind")]  # noqa: UP007
OUTPUTS: dict[str, tuple[str, ...]] = {"bbands": ("upper", "middle", "lower"), "macd": ("macd", "signal", "hist")}


def _operand(value: Any) -> str | float:
    """A series name or a finite number; one plain error otherwise, not one per union branch."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if math.isfinite(value):
            return float(value)
        raise ValueError("must be a number (not NaN or infinity)")
    raise ValueError("must be a number or the name of a series")


Operand = Annotated[Union[str, float], PlainValidator(_operand)]  # noqa: UP007
Operator = Literal["<", "<=", ">", ">=", "crosses_above", "crosses_below"]


class Compare(_Strict):
    left: Operand
    op: Operator
    right: Operand

    @model_validator(mode="after")
    def _a_series_on_the_left(self) -> Compare:
        if not isinstance(self.left, str):
            raise ValueError("the left side must name a series, e.g. 'rsi_14'")
        return self


class AllOf(_Strict):
    all: list[Condition] = Field(min_length=1)


class AnyOf(_Strict):
    any: list[Condition] = Field(min_length=1)


def _condition_tag(value: Any) -> str:
    """Pick the condition type from its keys, so an error names one path, not every union branch."""
    if isinstance(value, dict):
        return "all_rule" if "all" in value else "any_rule" if "any" in value else "compare_rule"
    return {AllOf: "all_rule", AnyOf: "any_rule"}.get(type(value), "compare_rule")


Condition = Annotated[
    Union[  # noqa: UP007
        Annotated[Compare, Tag("compare_rule")],
        Annotated[AllOf, Tag("all_rule")],
        Annotated[AnyOf, Tag("any_rule")],
    ],
    Discriminator(_condition_tag),
]
AllOf.model_rebuild()
AnyOf.model_rebuild()


class SideRules(_Strict):
    long: Condition | None = None
    short: Condition | None = None


class StrategySpec(_Strict):
    indicators: list[Indicator] = Field(default_factory=list)
    entry: SideRules
    exit: SideRules = SideRules()
    timeframe: Timeframe = "1h"
    markets: list[str] = Field(min_length=1)
    cooldown_bars: int = Field(0, ge=0, le=100_000)

    def series_names(self) -> set[str]:
        names = set(CANDLE_SERIES) | set(INPUT_SERIES)
        for indicator in self.indicators:
            outputs = OUTPUTS.get(indicator.kind)
            names |= {f"{indicator.id}.{out}" for out in outputs} if outputs else {indicator.id}
        return names

    def series_read(self) -> set[str]:
        """The series the rules name (a strategy reads `sentiment` only if one of its rules does)."""
        conditions = [getattr(getattr(self, block), side) for block in ("entry", "exit") for side in ("long", "short")]
        return {name for condition in conditions if condition is not None for name in _operand_names(condition)}

    def longest_lookback(self) -> int:
        """Bars before every indicator has a value (TA-Lib alignment)."""
        return max((_lookback(indicator) for indicator in self.indicators), default=0)


def _operand_names(condition: Condition) -> set[str]:
    if isinstance(condition, (AllOf, AnyOf)):
        children = condition.all if isinstance(condition, AllOf) else condition.any
        return {name for child in children for name in _operand_names(child)}
    return {operand for operand in (condition.left, condition.right) if isinstance(operand, str)}


def _lookback(indicator: Indicator) -> int:
    if isinstance(indicator, MACD):
        return indicator.slow - 1 + indicator.signal - 1
    if isinstance(indicator, (RSI, ATR)):
        return indicator.period
    return indicator.period - 1


@dataclass(frozen=True)
class SpecError:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


_UNION_LABELS = {"compare_rule", "all_rule", "any_rule", "str", "float", "sma", "ema", "rsi", "atr", "bbands", "macd"}


def _path(loc: tuple[Any, ...]) -> str:
    """('entry', 'long', 'all', 1, 'right') -> 'entry.long.all[1].right'."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part in _UNION_LABELS or str(part).startswith(("function-", "tagged-")):
            continue  # pydantic's union branch labels, not part of the user's document
        else:
            text += f".{part}" if text else str(part)
    return text


def validate_spec(
    data: Any, *, known_markets: Collection[str] | None = None
) -> tuple[StrategySpec | None, list[SpecError]]:
    """Parse a spec; on failure return every problem with the exact path and a plain reason.

    `known_markets`, when given, are the market symbols a spec may name (the stored markets); None
    skips that check (backtests name their market themselves).
    """
    try:
        spec = StrategySpec.model_validate(data)
    except ValidationError as exc:
        return None, _dedupe([SpecError(_path(tuple(err["loc"])), _message(err)) for err in exc.errors()])
    errors = _reference_errors(spec)
    if known_markets is not None:
        errors += _market_errors(spec, known_markets)
    return (None, errors) if errors else (spec, [])


def _market_errors(spec: StrategySpec, known: Collection[str]) -> list[SpecError]:
    listed = f"known: {', '.join(sorted(known))}" if known else "no markets are stored yet"
    return [
        SpecError(f"markets[{position}]", f"unknown market {symbol} ({listed})")
        for position, symbol in enumerate(spec.markets)
        if symbol not in known
    ]


def _unquoted(text: Any) -> str:
    return str(text).replace("'", "")


# pydantic's wording, in the words of the spec's author; types not listed keep pydantic's message.
_MESSAGES: dict[str, Any] = {
    "missing": lambda ctx, field: "is required",
    "extra_forbidden": lambda ctx, field: f"{field!r} is not a known setting here",
    "union_tag_invalid": lambda ctx, field: (
        f"unknown {_unquoted(ctx['discriminator'])} {ctx['tag']!r} (known: {_unquoted(ctx['expected_tags'])})"
    ),
    "union_tag_not_found": lambda ctx, field: f"needs a {_unquoted(ctx['discriminator'])}",
    "literal_error": lambda ctx, field: f"must be one of {_unquoted(ctx['expected'])}",
    "int_type": lambda ctx, field: "must be a whole number",
    "int_parsing": lambda ctx, field: "must be a whole number",
    "int_from_float": lambda ctx, field: "must be a whole number",
    "float_type": lambda ctx, field: "must be a number",
    "float_parsing": lambda ctx, field: "must be a number",
    "finite_number": lambda ctx, field: "must be a number (not NaN or infinity)",
    "string_type": lambda ctx, field: "must be text",
    "string_too_long": lambda ctx, field: f"must be at most {ctx['max_length']} characters",
    "string_pattern_mismatch": lambda ctx, field: (
        "must start with a small letter and use only a-z, 0-9 and _" if field == "id" else "has the wrong format"
    ),
    "greater_than": lambda ctx, field: f"must be more than {ctx['gt']}",
    "greater_than_equal": lambda ctx, field: f"must be at least {ctx['ge']}",
    "less_than": lambda ctx, field: f"must be less than {ctx['lt']}",
    "less_than_equal": lambda ctx, field: f"must be at most {ctx['le']}",
    "too_short": lambda ctx, field: (
        "must name at least one market" if field == "markets" else f"must have at least {ctx['min_length']} item(s)"
    ),
    "list_type": lambda ctx, field: "must be a list",
    "dict_type": lambda ctx, field: "must be an object",
    "model_type": lambda ctx, field: "must be an object",
    "model_attributes_type": lambda ctx, field: "must be an object",
}


def _message(error: dict[str, Any]) -> str:
    loc = [part for part in error["loc"] if isinstance(part, str)]
    field = loc[-1] if loc else ""
    translate = _MESSAGES.get(error["type"])
    if translate is not None:
        return translate(error.get("ctx") or {}, field)
    return str(error["msg"]).removeprefix("Value error, ")


def _dedupe(errors: list[SpecError]) -> list[SpecError]:
    seen: dict[str, SpecError] = {}
    for error in errors:
        seen.setdefault(str(error), error)
    return list(seen.values())


def _reference_errors(spec: StrategySpec) -> list[SpecError]:
    errors: list[SpecError] = []
    ids = [indicator.id for indicator in spec.indicators]
    for position, indicator_id in enumerate(ids):
        if ids.index(indicator_id) != position or indicator_id in CANDLE_SERIES + INPUT_SERIES:
            errors.append(SpecError(f"indicators[{position}].id", f"duplicate or reserved id {indicator_id!r}"))
    known = spec.series_names()
    for block in ("entry", "exit"):
        for side in ("long", "short"):
            condition = getattr(getattr(spec, block), side)
            if condition is not None:
                errors.extend(_condition_errors(condition, f"{block}.{side}", known))
    if spec.entry.long is None and spec.entry.short is None:
        errors.append(SpecError("entry", "needs a long or a short rule"))
    return errors


def _condition_errors(condition: Condition, path: str, known: set[str]) -> list[SpecError]:
    if isinstance(condition, (AllOf, AnyOf)):
        key = "all" if isinstance(condition, AllOf) else "any"
        children = getattr(condition, key)
        return [
            err for i, child in enumerate(children) for err in _condition_errors(child, f"{path}.{key}[{i}]", known)
        ]
    errors = []
    for side in ("left", "right"):
        operand = getattr(condition, side)
        if isinstance(operand, str) and operand not in known:
            errors.append(SpecError(f"{path}.{side}", f"unknown indicator {operand!r}"))
    return errors
