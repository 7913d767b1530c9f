"""Evaluate a strategy spec's rules over series (pure; no Django).

Every rule is evaluated on whole numpy arrays, so the backtest evaluates all bars at once and
the live worker evaluates the newest bar by passing the last two values of each series: the
same code decides both, which is what keeps replays and backtests in agreement.

A comparison with a missing value (NaN, before an indicator's warm-up) is false. A cross at
bar t needs both bars t-1 and t: `a crosses_above b` means a[t] > b[t] and a[t-1] <= b[t-1].
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from apps.strategies.spec import AllOf, AnyOf, Compare, Condition, StrategySpec

Series = Mapping[str, np.ndarray]

_COMPARE: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@dataclass(frozen=True)
class Triggers:
    """One boolean per bar for each rule; a missing rule never fires."""

    long_entry: np.ndarray
    long_exit: np.ndarray
    short_entry: np.ndarray
    short_exit: np.ndarray


def _operand(value: str | float, series: Series, length: int) -> np.ndarray:
    if isinstance(value, str):
        return np.asarray(series[value], dtype=np.float64)
    return np.full(length, float(value))


def _previous(values: np.ndarray) -> np.ndarray:
    shifted = np.empty_like(values)
    shifted[0] = np.nan
    shifted[1:] = values[:-1]
    return shifted


def _compare(condition: Compare, series: Series, length: int) -> np.ndarray:
    left = _operand(condition.left, series, length)
    right = _operand(condition.right, series, length)
    with np.errstate(invalid="ignore"):
        if condition.op in _COMPARE:
            return _COMPARE[condition.op](left, right)
        above_now = left > right
        above_before = _previous(left) > _previous(right)
        below_now = left < right
        below_before = _previous(left) < _previous(right)
        defined_before = ~np.isnan(_previous(left)) & ~np.isnan(_previous(right))
    if condition.op == "crosses_above":
        return above_now & ~above_before & defined_before
    return below_now & ~below_before & defined_before


def evaluate(condition: Condition | None, series: Series, length: int) -> np.ndarray:
    if condition is None:
        return np.zeros(length, dtype=bool)
    if isinstance(condition, AllOf):
        result = np.ones(length, dtype=bool)
        for child in condition.all:
            result &= evaluate(child, series, length)
        return result
    if isinstance(condition, AnyOf):
        result = np.zeros(length, dtype=bool)
        for child in condition.any:
            result |= evaluate(child, series, length)
        return result
    return _compare(condition, series, length)


def triggers(spec: StrategySpec, series: Series) -> Triggers:
    length = len(series["close"])
    return Triggers(
        long_entry=evaluate(spec.entry.long, series, length),
        long_exit=evaluate(spec.exit.long, series, length),
        short_entry=evaluate(spec.entry.short, series, length),
        short_exit=evaluate(spec.exit.short, series, length),
    )
