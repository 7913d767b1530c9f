"""Rule semantics on hand-made series, and the live path (one candle at a time) agreeing with
the backtest path (all bars at once) on real Binance candles."""

from __future__ import annotations

import json

import numpy as np
import pytest

from apps.market.arrays import CandleArrays
from apps.strategies.presets import preset_names, preset_spec
from apps.strategies.series import Bar, StreamingEvaluator, compute_triggers
from apps.strategies.spec import StrategySpec
from apps.strategies.triggers import evaluate
from tests.conftest import shared_data_path

NAN = np.nan


def condition(data: dict):
    spec = StrategySpec.model_validate({"entry": {"long": data}, "markets": ["X"]})
    return spec.entry.long


def run(data: dict, **series: list[float]) -> list[bool]:
    arrays = {name: np.array(values, dtype=float) for name, values in series.items()}
    return evaluate(condition(data), arrays, len(next(iter(arrays.values())))).tolist()


def test_threshold_is_false_while_the_indicator_warms_up() -> None:
    assert run({"left": "a", "op": "<", "right": 30}, a=[NAN, 20, 40, 29.9]) == [False, True, False, True]


def test_crosses_above_needs_below_or_equal_then_above() -> None:
    a = [1, 2, 3, 3, 2, 4]
    b = [2, 2, 2, 3, 3, 3]
    assert run({"left": "a", "op": "crosses_above", "right": "b"}, a=a, b=b) == [False, False, True, False, False, True]
    assert run({"left": "a", "op": "crosses_below", "right": "b"}, a=a, b=b) == [
        False,
        False,
        False,
        False,
        True,
        False,
    ]


def test_a_cross_needs_a_defined_previous_bar() -> None:
    assert run({"left": "a", "op": "crosses_above", "right": 5}, a=[NAN, 6, 4, 6]) == [False, False, False, True]


def test_nested_groups() -> None:
    rule = {
        "any": [
            {"all": [{"left": "a", "op": ">", "right": 1}, {"left": "b", "op": ">", "right": 1}]},
            {"left": "a", "op": ">=", "right": 9},
        ]
    }
    assert run(rule, a=[2, 2, 9, 0], b=[2, 0, 0, 5]) == [True, False, True, False]


@pytest.fixture(scope="module")
def btc_1m() -> CandleArrays:
    rows = np.array(
        json.loads(shared_data_path("ohlcv", "binance_BTCUSDT_1m_2023-03-16_2023-05-01.freqtrade.json").read_text())
    )
    rows = rows[:20_000]
    return CandleArrays(rows[:, 0].astype(np.int64), *(rows[:, i] for i in range(1, 6)))


@pytest.mark.parametrize("name", preset_names())
def test_streaming_evaluation_matches_batch_on_real_candles(btc_1m: CandleArrays, name: str) -> None:
    """Reference: the batch evaluation over the same real Binance BTCUSDT 1m candles."""
    spec = preset_spec(name, timeframe="1m")
    batch = compute_triggers(spec, btc_1m)
    evaluator = StreamingEvaluator(spec)
    live = [
        evaluator.update(
            Bar(
                int(btc_1m.open_time[i]),
                *(float(btc_1m.column(c)[i]) for c in ("open", "high", "low", "close", "volume")),
            )
        )
        for i in range(len(btc_1m))
    ]
    for field in ("long_entry", "long_exit", "short_entry", "short_exit"):
        streamed = np.array([getattr(t, field)[0] for t in live])
        assert np.array_equal(streamed, getattr(batch, field)), field
    assert batch.long_entry.any() or name == "rsi_sentiment"
