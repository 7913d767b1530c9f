"""Strategy specs: validation errors name the exact path and reason; presets are valid."""

from __future__ import annotations

import json

import numpy as np
import pytest

from apps.market.arrays import CandleArrays
from apps.strategies.decisions import LONG, SHORT, bar_directions
from apps.strategies.presets import PRESETS, preset_names, preset_spec, preset_spec_data
from apps.strategies.series import compute_triggers
from apps.strategies.spec import validate_spec
from tests.conftest import shared_data_path


def spec_with(**overrides) -> dict:
    base = {
        "indicators": [{"id": "ema_200", "kind": "ema", "period": 200}, {"id": "rsi_14", "kind": "rsi", "period": 14}],
        "entry": {"long": {"all": [{"left": "close", "op": ">", "right": "ema_200"}]}},
        "markets": ["BTC/USDT:USDT"],
    }
    return {**base, **overrides}


def errors_of(data: dict) -> list[str]:
    spec, errors = validate_spec(data)
    assert spec is None
    return [str(error) for error in errors]


def test_the_issue_example_names_path_and_reason() -> None:
    data = spec_with(
        entry={
            "long": {
                "all": [{"left": "rsi_14", "op": "<", "right": 30}, {"left": "close", "op": ">", "right": "ema_201"}]
            }
        }
    )
    assert errors_of(data) == ["entry.long.all[1].right: unknown indicator 'ema_201'"]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"indicators": [{"id": "r", "kind": "rsi", "period": 1}]}, "indicators[0].period: must be at least 2"),
        (
            {"indicators": [{"id": "m", "kind": "macd", "fast": 30}]},
            "indicators[0]: fast (30) must be shorter than slow",
        ),
        ({"indicators": [{"id": "x", "kind": "vwap"}]}, "indicators[0]: unknown kind 'vwap' (known: sma, ema,"),
        ({"entry": {"long": {"left": "close", "op": "=>", "right": 1}}}, "entry.long.op: must be one of <, <=, >, >="),
        ({"entry": {"long": {"any": []}}}, "entry.long.any: must have at least 1 item(s)"),
        ({"entry": {"long": {"left": 3, "op": "<", "right": "close"}}}, "entry.long: the left side must name a series"),
        ({"entry": {}}, "entry: needs a long or a short rule"),
        ({"markets": []}, "markets: must name at least one market"),
        ({"timeframe": "7m"}, "timeframe: must be one of 1m, 3m, 5m, 15m, 30m, 1h, 2h, 4h, 6h, 8h, 12h or 1d"),
        ({"cooldown_bars": -1}, "cooldown_bars: must be at least 0"),
        ({"surprise": 1}, "surprise: 'surprise' is not a known setting here"),
        ({"indicators": [{"id": "close", "kind": "sma", "period": 3}]}, "indicators[0].id: duplicate or reserved id"),
    ],
)
def test_invalid_specs_are_explained(overrides: dict, expected: str) -> None:
    errors = errors_of(spec_with(**overrides))
    assert any(error.startswith(expected) for error in errors), errors


# pydantic's own wording; an operator should never have to read it.
LIBRARY_WORDING = ("Input should", "Input tag", "List should", "Field required", "Extra inputs", "Value error", "valid")


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"indicators": [{"id": "b", "kind": "bbands", "period": 20, "k": float("nan")}]}, "indicators[0].k"),
        ({"indicators": [{"id": "r", "kind": "rsi", "period": float("inf")}]}, "indicators[0].period"),
        ({"entry": {"long": {"left": "close", "op": "<", "right": float("nan")}}}, "entry.long.right"),
    ],
)
def test_nan_and_infinity_are_not_numbers(overrides: dict, expected: str) -> None:
    # NaN compares false with every bound, so without this `k: NaN` was reported as "<= 10".
    assert errors_of(spec_with(**overrides)) == [f"{expected}: must be a number (not NaN or infinity)"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"indicators": [{"id": "x", "kind": "vwap"}]},
        {"indicators": [{"id": "x", "period": 3}]},
        {"indicators": ["rsi"]},
        {"indicators": [{"id": "Bad Id", "kind": "sma", "period": "ten"}]},
        {"entry": {"long": {"left": "close", "op": "<", "right": [1]}}},
        {"entry": 5},
        {"markets": "BTC/USDT:USDT"},
    ],
)
def test_errors_are_in_plain_words(overrides: dict) -> None:
    errors = errors_of(spec_with(**overrides))
    assert errors and not [error for error in errors if any(words in error for words in LIBRARY_WORDING)], errors


def test_a_market_must_be_a_stored_one() -> None:
    spec, errors = validate_spec(
        spec_with(markets=["BTC/USDT:USDT", "XYZ/USDT"]), known_markets=["ETH/USDT:USDT", "BTC/USDT:USDT"]
    )
    assert spec is None
    assert [str(error) for error in errors] == [
        "markets[1]: unknown market XYZ/USDT (known: BTC/USDT:USDT, ETH/USDT:USDT)"
    ]
    assert validate_spec(spec_with(), known_markets=["BTC/USDT:USDT"])[1] == []
    assert [str(error) for error in validate_spec(spec_with(), known_markets=[])[1]] == [
        "markets[0]: unknown market BTC/USDT:USDT (no markets are stored yet)"
    ]


def test_multi_output_indicators_expose_named_series() -> None:
    data = spec_with(
        indicators=[{"id": "bb", "kind": "bbands", "period": 20}, {"id": "m", "kind": "macd"}],
        entry={
            "long": {
                "all": [{"left": "close", "op": "<", "right": "bb.lower"}, {"left": "m.hist", "op": ">", "right": 0}]
            }
        },
    )
    spec, errors = validate_spec(data)
    assert errors == []
    assert {"bb.upper", "bb.middle", "bb.lower", "m.macd", "m.signal", "m.hist"} <= spec.series_names()
    assert spec.longest_lookback() == 33


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_is_a_valid_spec(name: str) -> None:
    spec, errors = validate_spec(preset_spec_data(name))
    assert errors == [] and spec is not None
    assert PRESETS[name]["description"]


def test_unknown_preset_lists_the_choices() -> None:
    with pytest.raises(KeyError, match="rsi_mean_reversion"):
        preset_spec("rsi_reversal")


@pytest.mark.parametrize("name", ["rsi_mean_reversion", "ema_trend", "bollinger_breakout"])
def test_trading_presets_can_enter_on_real_candles(name: str) -> None:
    """A preset whose entries always coincide with an exit would never trade (exit wins a bar).
    Reference: the real Binance BTCUSDT 1h candles, 2017-2022."""
    rows = np.array(json.loads(shared_data_path("ohlcv", "binance_BTCUSDT_1h_2017-2022.freqtrade.json").read_text()))
    directions = bar_directions(compute_triggers(preset_spec(name), CandleArrays.from_rows(rows)))
    assert np.isin(directions, (LONG, SHORT)).sum() > 0


def test_the_series_a_spec_reads_are_those_its_rules_name() -> None:
    spec, _errors = validate_spec(
        spec_with(
            entry={
                "long": {
                    "all": [
                        {"left": "close", "op": ">", "right": "ema_200"},
                        {"any": [{"left": "sentiment", "op": ">", "right": 0}]},
                    ]
                }
            },
            exit={"short": {"left": "rsi_14", "op": "crosses_above", "right": 50}},
        )
    )

    assert spec.series_read() == {"close", "ema_200", "sentiment", "rsi_14"}
    assert "sentiment" in preset_spec("rsi_sentiment").series_read()
    assert "sentiment" not in preset_spec("rsi_mean_reversion").series_read()
