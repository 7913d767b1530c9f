"""Built-in strategies, loadable by name (pure; no Django). Names are snake_case, as
`manage.py backtest --strategy` takes them."""

from __future__ import annotations

import copy
from typing import Any

from apps.strategies.spec import StrategySpec

DEFAULT_MARKETS = ["BTC/USDT:USDT"]

PRESETS: dict[str, dict[str, Any]] = {
    "rsi_mean_reversion": {
        "description": "Long when RSI(14) < 30; exit when RSI(14) > 70.",
        "spec": {
            "indicators": [{"id": "rsi_14", "kind": "rsi", "period": 14}],
            "entry": {"long": {"left": "rsi_14", "op": "<", "right": 30}},
            "exit": {"long": {"left": "rsi_14", "op": ">", "right": 70}},
        },
    },
    "ema_trend": {
        "description": "EMA 50/200 trend: long when EMA(50) crosses above EMA(200), exit when it crosses back "
        "below. Long only: with a short side, every cross would fire one side's entry together with the "
        "other side's exit, and an exit outranks an entry on the same bar.",
        "spec": {
            "indicators": [
                {"id": "ema_50", "kind": "ema", "period": 50},
                {"id": "ema_200", "kind": "ema", "period": 200},
            ],
            "entry": {"long": {"left": "ema_50", "op": "crosses_above", "right": "ema_200"}},
            "exit": {"long": {"left": "ema_50", "op": "crosses_below", "right": "ema_200"}},
        },
    },
    "bollinger_breakout": {
        "description": "Bollinger band break: long when the close breaks above the upper band (20, 2σ), short when "
        "it breaks below the lower band; exit when the close crosses back over the middle band.",
        "spec": {
            "indicators": [{"id": "bb_20", "kind": "bbands", "period": 20, "k": 2.0}],
            "entry": {
                "long": {"left": "close", "op": "crosses_above", "right": "bb_20.upper"},
                "short": {"left": "close", "op": "crosses_below", "right": "bb_20.lower"},
            },
            "exit": {
                "long": {"left": "close", "op": "crosses_below", "right": "bb_20.middle"},
                "short": {"left": "close", "op": "crosses_above", "right": "bb_20.middle"},
            },
        },
    },
    "rsi_sentiment": {
        "description": "RSI + sentiment: long when RSI(14) < 30 and sentiment > 0; exit when RSI(14) > 70 or "
        "sentiment < 0. Sentiment is the base asset's rolling news sentiment at the close (the mean score of its "
        "newest headlines before it); without news it is missing: no entry, and exits on RSI alone.",
        "spec": {
            "indicators": [{"id": "rsi_14", "kind": "rsi", "period": 14}],
            "entry": {
                "long": {
                    "all": [{"left": "rsi_14", "op": "<", "right": 30}, {"left": "sentiment", "op": ">", "right": 0}]
                }
            },
            "exit": {
                "long": {
                    "any": [{"left": "rsi_14", "op": ">", "right": 70}, {"left": "sentiment", "op": "<", "right": 0}]
                }
            },
        },
    },
}


def preset_names() -> list[str]:
    return sorted(PRESETS)


def preset_spec_data(name: str, *, timeframe: str = "1h", markets: list[str] | None = None) -> dict[str, Any]:
    try:
        preset = PRESETS[name]
    except KeyError:
        raise KeyError(f"unknown preset {name!r}; choose one of: {', '.join(preset_names())}") from None
    # A deep copy: callers may edit the result, and PRESETS must stay as written.
    markets = list(DEFAULT_MARKETS) if markets is None else list(markets)
    return {**copy.deepcopy(preset["spec"]), "timeframe": timeframe, "markets": markets}


def preset_spec(name: str, *, timeframe: str = "1h", markets: list[str] | None = None) -> StrategySpec:
    return StrategySpec.model_validate(preset_spec_data(name, timeframe=timeframe, markets=markets))
