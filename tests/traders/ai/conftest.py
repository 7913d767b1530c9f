"""An AI paper trader on scripted candles, asking a scripted OpenAI-compatible server on 127.0.0.1
(tests.ai.scripted_server) through the real router and the real `openai` SDK."""

from __future__ import annotations

import json
from decimal import Decimal as D
from typing import Any

import pytest

from apps.ai.models import ModelConfig
from apps.ai.services import model_config_create
from apps.exchanges.models import ExchangeAccount
from apps.exchanges.services import exchange_account_create
from apps.strategies.models import Strategy
from apps.traders.models import DEFAULT_TEMPLATE_NAME, PromptTemplate, Trader
from apps.traders.prompting import DEFAULT_SYSTEM, DEFAULT_USER
from apps.traders.services import trader_create, trader_start
from tests.ai.scripted_server import _scripted_server, answer, scripted  # noqa: F401 (fixtures)
from tests.exchanges.paper.helpers import flat, store_bars
from tests.factories import RiskProfileFactory

SYMBOL = "BTC/USDT:USDT"
MODEL_KEY = "sk-model-secret-4711"
EXCHANGE_KEY = "exchange-key-0815"
EXCHANGE_SECRET = "exchange-secret-9999"
# The strategy never fires: an every-cycle AI trader asks on each candle regardless.
SPEC = {
    "timeframe": "1h",
    "markets": [SYMBOL],
    "entry": {"long": {"left": "close", "op": "<", "right": 1}},
    "exit": {"long": {"left": "close", "op": ">", "right": 10_000_000}},
}
BARS = [flat(20000)] * 6


def plan(action: str = "open_long", **fields: Any) -> dict[str, Any]:
    values = {
        "action": action,
        "symbol": SYMBOL,
        "size": 0.1 if action.startswith("open") else 0,
        "leverage": 2 if action.startswith("open") else 1,
        "stop_loss": 19600.0 if action == "open_long" else (20400.0 if action == "open_short" else None),
        "take_profit": 20800.0 if action == "open_long" else (19200.0 if action == "open_short" else None),
        "confidence": 0.7,
        "reason": "RSI oversold after a flat day",
        "evidence": [{"source": "indicator", "value": "rsi_14 25", "observation": "oversold"}],
    }
    return values | fields


def answered(**fields: Any):
    """A scripted reply carrying the plan as the model's JSON answer."""
    return answer(json.dumps(plan(**fields)), tokens_in=100, tokens_out=50)


@pytest.fixture
def model_config(db, scripted) -> ModelConfig:  # noqa: F811
    return model_config_create(
        name="scripted",
        provider=ModelConfig.Provider.OPENAI_COMPATIBLE,
        model="scripted-model",
        base_url=scripted.base_url,
        timeout_seconds=5,
        max_retries=0,
        input_price_per_million=D("2"),
        output_price_per_million=D("8"),
        secrets={"api_key": MODEL_KEY},
    )


@pytest.fixture
def account(db) -> ExchangeAccount:
    # A paper account holding keys: they must reach no prompt, no preview, no log.
    return exchange_account_create(
        name="paper with keys",
        exchange="binanceusdm",
        secrets={"api_key": EXCHANGE_KEY, "api_secret": EXCHANGE_SECRET},
    )


def default_prompt_template() -> PromptTemplate:
    """The default template as the traders app's migration 0007 creates it. A transactional test that ran
    earlier without serialized_rollback flushed it (and its flush re-ran post_migrate, whose rows then
    clash with a serialized restore), so tests that need it make sure it is there."""
    template, _ = PromptTemplate.objects.get_or_create(
        name=DEFAULT_TEMPLATE_NAME, defaults={"system": DEFAULT_SYSTEM, "user": DEFAULT_USER}
    )
    return template


def ai_trader(operator, account, model_config, *, bars=BARS, start: bool = True, **fields: Any) -> tuple[Trader, Any]:
    market, feed = store_bars(bars)
    default_prompt_template()
    strategy = Strategy.objects.create(name="never fires", spec=SPEC)
    values = {
        "risk_profile": RiskProfileFactory(symbol_cooldown_seconds=0, max_leverage=5),
        "strategy": strategy,
        "markets": [market.pk],
        "decision_mode": Trader.DecisionMode.AI,
        "ai_model_config": model_config,
        "ai_ask": Trader.AiAsk.EVERY_CYCLE,
    }
    trader = trader_create(name="ai desk", account=account, **(values | fields))
    if start:
        trader_start(trader=trader, user=operator)
    return trader, feed
