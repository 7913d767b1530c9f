"""Test data for strategies: a factory that goes through the service, and specs good and bad."""

from __future__ import annotations

import copy
from typing import Any

import factory
from django.test import Client

from apps.market.models import ExchangeId, Market
from apps.strategies import services
from apps.strategies.models import Strategy
from apps.strategies.presets import preset_spec_data
from tests.factories import MarketFactory

# The markets the strategy tests' specs name; a spec may only name stored markets.
KNOWN_SYMBOLS = ("BTC/USDT:USDT", "ETH/USDT:USDT", "BTC/USDT")


def stored_markets(symbols: Any) -> list[Market]:
    """A stored market for each symbol (a perpetual when it has a settle currency, else spot)."""
    markets = []
    for symbol in symbols:
        base, quote = symbol.split(":")[0].split("/")
        swap = ":" in symbol
        markets.append(
            MarketFactory(
                exchange=ExchangeId.BINANCEUSDM if swap else ExchangeId.BINANCE,
                symbol=symbol,
                base=base,
                quote=quote,
                type=Market.Type.SWAP if swap else Market.Type.SPOT,
            )
        )
    return markets


class StrategyFactory(factory.django.DjangoModelFactory):
    """Created through the service, so the stored spec, version and history look like the real thing."""

    class Meta:
        model = Strategy

    name = factory.Sequence(lambda n: f"strategy {n}")
    description = ""
    spec = factory.LazyFunction(lambda: preset_spec_data("rsi_mean_reversion"))
    enabled = False

    @classmethod
    def _create(cls, model_class: type[Strategy], *args: Any, **kwargs: Any) -> Strategy:
        stored_markets(kwargs["spec"].get("markets", []))
        return services.strategy_create(**kwargs)


# One rule points at an indicator that does not exist: the canonical "bad reference" spec.
BAD_REFERENCE_PATH = "entry.long.all[1].right"


def client_for(user: Any) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def good_spec(**overrides: Any) -> dict[str, Any]:
    # Deep copies: preset_spec_data shares its nested rules with the PRESETS constant.
    return copy.deepcopy({**preset_spec_data("ema_trend"), **overrides})


def bad_reference_spec() -> dict[str, Any]:
    spec = good_spec()
    spec["entry"]["long"] = {
        "all": [
            {"left": "ema_50", "op": ">", "right": "ema_200"},
            {"left": "close", "op": ">", "right": "ema_201"},
        ]
    }
    return spec


def two_error_spec() -> dict[str, Any]:
    """Two independent problems, to prove every one of them is reported."""
    spec = bad_reference_spec()
    spec["exit"]["short"] = {"left": "rsi_9", "op": "<", "right": 30}
    return spec
