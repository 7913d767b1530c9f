"""Parameter sweeps: the Cartesian product of a few values per key, run on every core (pure; no
Django).

Keys:
- backtest options: sl_pct, tp_pct, size_pct, fee_bps, slippage_bps;
- `cooldown_bars`, and `<indicator_id>.<param>` for each numeric parameter of an indicator in the
  spec (rsi_14.period, ema_50.period, bb_20.k, macd.fast, ...);
- `<series>.lower` / `<series>.upper`: every numeric threshold compared against that series with
  <, <= or crosses_below (lower) or with >, >= or crosses_above (upper), wherever the rule is in
  the spec. In rsi_mean_reversion, rsi_14.lower is the 30 of the entry and rsi_14.upper the 70 of
  the exit; a spec with two lower thresholds on one series gets the same value in both.

Workers are forked once with the candles (inherited, never pickled) and each computes one
combination at a time; results are small dicts of metrics.
"""

from __future__ import annotations

import copy
import itertools
import json
import multiprocessing
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from apps.backtests.engine import BacktestParams, BacktestParamsError, signal_codes, simulate
from apps.backtests.metrics import LOWER_IS_BETTER, METRICS, compute_metrics
from apps.market.arrays import CandleArrays
from apps.strategies.spec import AllOf, AnyOf, Compare, Condition, StrategySpec, validate_spec

BACKTEST_KEYS = ("sl_pct", "tp_pct", "size_pct", "fee_bps", "slippage_bps")
SPEC_KEYS = ("cooldown_bars",)
NOT_PARAMETERS = ("id", "kind", "source")
LOWER_OPS = ("<", "<=", "crosses_below")
UPPER_OPS = (">", ">=", "crosses_above")
SORT_METRICS = tuple(METRICS)


class GridError(ValueError):
    """A grid that cannot run; the message says which key or value and why."""


@dataclass(frozen=True)
class GridRow:
    values: dict[str, float | int]
    metrics: dict[str, Any]


def _conditions(condition: Condition | None) -> Iterator[Compare]:
    if condition is None:
        return
    if isinstance(condition, (AllOf, AnyOf)):
        for child in condition.all if isinstance(condition, AllOf) else condition.any:
            yield from _conditions(child)
    else:
        yield condition


def _all_compares(spec: StrategySpec) -> Iterator[Compare]:
    for block in (spec.entry, spec.exit):
        yield from _conditions(block.long)
        yield from _conditions(block.short)


def _threshold_keys(spec: StrategySpec) -> list[str]:
    keys = set()
    for compare in _all_compares(spec):
        if isinstance(compare.right, (int, float)) and isinstance(compare.left, str):
            keys.add(f"{compare.left}.{'lower' if compare.op in LOWER_OPS else 'upper'}")
    return sorted(keys)


def valid_keys(spec: StrategySpec) -> list[str]:
    keys = list(BACKTEST_KEYS) + list(SPEC_KEYS)
    for indicator in spec.indicators:
        keys += [f"{indicator.id}.{name}" for name in type(indicator).model_fields if name not in NOT_PARAMETERS]
    return keys + _threshold_keys(spec)


def _number(text: str) -> float | int:
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        return float(text)


def parse_grid(items: list[str], spec: StrategySpec) -> dict[str, list[float | int]]:
    """["rsi_14.lower=20,25,30", "sl_pct=1,2"] -> {"rsi_14.lower": [20, 25, 30], "sl_pct": [1, 2]}."""
    allowed = valid_keys(spec)
    axes: dict[str, list[float | int]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        key = key.strip()
        if not sep or not values.strip():
            raise GridError(f"{item!r}: write KEY=V1,V2,... (e.g. sl_pct=1,2,3)")
        if key not in allowed:
            raise GridError(f"unknown grid key {key!r}; valid keys for this strategy: {', '.join(allowed)}")
        if key in axes:
            raise GridError(f"grid key {key!r} is given twice")
        try:
            numbers = [_number(value) for value in values.split(",")]
        except ValueError:
            raise GridError(f"{key}: the values must be numbers, got {values!r}") from None
        if len(set(numbers)) != len(numbers):
            raise GridError(f"{key}: a value is repeated in {values!r}")
        axes[key] = numbers
    if not axes:
        raise GridError("an empty grid; give KEY=V1,V2,... at least once")
    return axes


def combinations(axes: dict[str, list[float | int]]) -> list[dict[str, float | int]]:
    keys = list(axes)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*axes.values())]


def _set_thresholds(condition: Any, series: str, ops: tuple[str, ...], value: float) -> None:
    if not isinstance(condition, dict):
        return
    for key in ("all", "any"):
        for child in condition.get(key, []):
            _set_thresholds(child, series, ops, value)
    if condition.get("left") == series and condition.get("op") in ops and not isinstance(condition.get("right"), str):
        condition["right"] = value


def apply(
    spec: StrategySpec, params: BacktestParams, values: dict[str, float | int]
) -> tuple[StrategySpec, BacktestParams]:
    """The spec and options of one combination, both validated (GridError names the problem)."""
    data = spec.model_dump(mode="json", exclude_none=True)
    data = copy.deepcopy(data)
    options: dict[str, float] = {}
    for key, value in values.items():
        if key in BACKTEST_KEYS:
            options[key] = float(value)
        elif key in SPEC_KEYS:
            data[key] = value
        elif key.endswith((".lower", ".upper")) and key not in _indicator_param_keys(spec):
            series, _, side = key.rpartition(".")
            ops = LOWER_OPS if side == "lower" else UPPER_OPS
            for block in ("entry", "exit"):
                for rule in data.get(block, {}).values():
                    _set_thresholds(rule, series, ops, value)
        else:
            indicator_id, _, name = key.partition(".")
            for indicator in data["indicators"]:
                if indicator["id"] == indicator_id:
                    indicator[name] = value
    new_spec, errors = validate_spec(data)
    if new_spec is None:
        raise GridError(f"{_describe(values)}: " + "; ".join(str(error) for error in errors))
    try:
        new_params = replace(params, **options).validated()
    except BacktestParamsError as exc:
        raise GridError(f"{_describe(values)}: {exc}") from None
    return new_spec, new_params


def _indicator_param_keys(spec: StrategySpec) -> set[str]:
    return {
        f"{indicator.id}.{name}"
        for indicator in spec.indicators
        for name in type(indicator).model_fields
        if name not in NOT_PARAMETERS
    }


def _describe(values: dict[str, float | int]) -> str:
    return " ".join(f"{key}={value}" for key, value in values.items())


# Set in the parent before the fork; workers inherit it (candles are never pickled).
_STATE: dict[str, Any] = {}


def _worker_init(state: dict[str, Any]) -> None:
    _STATE.clear()
    _STATE.update(state)
    _STATE["cached"] = None


def _run_one(index: int) -> tuple[int, dict[str, Any]]:
    spec, params = _STATE["prepared"][index]
    candles: CandleArrays = _STATE["candles"]
    # Combinations that differ only in backtest options share the signals; they are queued
    # next to each other, so each worker keeps the last spec's codes.
    key = json.dumps(spec.model_dump(mode="json"), sort_keys=True)
    cached = _STATE.get("cached")
    if cached is None or cached[0] != key:
        cached = (key, signal_codes(spec, candles, sentiment=_STATE["sentiment"]))
        _STATE["cached"] = cached
    result = simulate(candles, cached[1], params)
    return index, compute_metrics(result, timeframe_ms=_STATE["timeframe_ms"])


def run_grid(
    *,
    spec: StrategySpec,
    candles: CandleArrays,
    params: BacktestParams,
    axes: dict[str, list[float | int]],
    timeframe_ms: int,
    processes: int | None = None,
    progress: Callable[[int], None] | None = None,
    sentiment: np.ndarray | None = None,
) -> list[GridRow]:
    """Every combination's metrics, in the product's order. Validates all before running any.
    `sentiment` is the strategies' input at each candle's close (None: missing throughout)."""
    combos = combinations(axes)
    prepared = [apply(spec, params, values) for values in combos]
    # Spec-affecting keys vary slowest, so neighbouring tasks share signals.
    order = sorted(range(len(combos)), key=lambda i: json.dumps(prepared[i][0].model_dump(mode="json")))
    state = {"candles": candles, "sentiment": sentiment, "prepared": prepared, "timeframe_ms": timeframe_ms}
    processes = max(1, min(processes or os.cpu_count() or 1, len(combos)))
    results: dict[int, dict[str, Any]] = {}
    if processes == 1:
        _worker_init(state)
        try:
            for index in order:
                results[index] = _run_one(index)[1]
                if progress:
                    progress(1)
        finally:
            _STATE.clear()  # the candles are not kept alive after the sweep
    else:
        # A compiled kernel is loaded (or compiled) once here, not once per worker.
        _warm_up(spec, candles)
        context = multiprocessing.get_context("fork")
        chunksize = max(1, len(order) // (processes * 4))
        with context.Pool(processes, initializer=_worker_init, initargs=(state,)) as pool:
            for index, metrics in pool.imap_unordered(_run_one, order, chunksize=chunksize):
                results[index] = metrics
                if progress:
                    progress(1)
    return [GridRow(values=combos[i], metrics=results[i]) for i in range(len(combos))]


def _warm_up(spec: StrategySpec, candles: CandleArrays) -> None:
    tiny = candles.slice(0, min(len(candles), 32))
    if len(tiny):
        simulate(tiny, signal_codes(spec, tiny), BacktestParams(sl_pct=1, tp_pct=1))


def sort_rows(rows: list[GridRow], metric: str) -> list[GridRow]:
    """Best first by `metric`; undefined values (None) last."""
    if metric not in SORT_METRICS:
        raise GridError(f"unknown metric {metric!r} to sort by; choose one of: {', '.join(SORT_METRICS)}")
    sign = 1.0 if metric in LOWER_IS_BETTER else -1.0
    defined = [row for row in rows if row.metrics.get(metric) is not None]
    undefined = [row for row in rows if row.metrics.get(metric) is None]
    return sorted(defined, key=lambda row: sign * float(row.metrics[metric])) + undefined
