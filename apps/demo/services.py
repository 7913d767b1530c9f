"""The demo rows the project ships in fixtures/demo.json: a paper account, the risk profile
"Standard", a strategy from a preset and the paper trader "Paper desk", started on that strategy;
a local model config (llama.cpp on the packaged SmolLM2-135M model) and the AI paper trader
"AI paper desk" on it, created stopped (see fixtures/demo.json and the README's demo AI trader).

Every row goes through its app's service, as an operator's would, so validation and history
apply; loaddata would write raw rows past both. A row whose name exists already is left as it
is (an operator may have changed it since, or stopped the trader), so loading again changes
nothing. One exception: a trader without a strategy (what load_demo made before traders had
strategies) gets the row's strategy, markets and rules, and starts when the row says so.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, TypeVar

from django.conf import settings
from django.db import models, transaction
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from apps.ai.models import PACKAGED_LOCAL_MODEL, ModelConfig
from apps.ai.services import model_config_create
from apps.core.errors import ServiceValidationError
from apps.exchanges.models import ExchangeAccount
from apps.exchanges.services import exchange_account_create
from apps.market.models import ExchangeId, Market
from apps.strategies.models import Strategy
from apps.strategies.services import strategy_from_preset, strategy_toggle
from apps.traders.api import RiskProfileIn
from apps.traders.models import RiskProfile, Trader
from apps.traders.services import risk_profile_create, trader_create, trader_start, trader_update

DEMO_FIXTURES = Path(settings.BASE_DIR) / "fixtures" / "demo.json"
Row = TypeVar("Row", "DemoAccount", "DemoRiskProfile", "DemoStrategy", "DemoModelConfig", "DemoTrader")
Named = TypeVar("Named", ExchangeAccount, RiskProfile, Strategy, ModelConfig)
TRADER_RULES = (
    "sizing",
    "sizing_pct",
    "stop_loss",
    "stop_loss_value",
    "take_profit",
    "take_profit_value",
    "decision_mode",
    "ai_ask",
)


class DemoFixtureInvalid(ValueError):
    """The fixture file is unreadable or a row in it is refused; the message names file and row."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DemoAccount(_Strict):
    # No mode and no keys: demo data can only ever create paper accounts.
    name: str = Field(min_length=1, max_length=100)
    exchange: ExchangeId
    paper_starting_balance: Decimal = Field(Decimal("10000"), gt=0)


class DemoRiskProfile(RiskProfileIn):
    model_config = ConfigDict(extra="forbid")


class DemoStrategy(_Strict):
    name: str = Field(min_length=1, max_length=100)
    preset: str
    timeframe: str
    markets: list[str]
    rules: dict[str, Any] = Field({}, description="Spec keys replacing the preset's (entry, exit, ...).")
    description: str = Field("", description="What the rules do; the preset's description when empty.")
    enabled: bool = False


class DemoModelConfig(_Strict):
    # Local models only: demo data never holds an API key.
    name: str = Field(min_length=1, max_length=100)
    provider: Literal["llama_cpp"] = "llama_cpp"
    model: str = Field(PACKAGED_LOCAL_MODEL, description="The packaged default model, or a GGUF path.")
    temperature: Decimal = Field(Decimal("0.20"), ge=0, le=2)
    max_tokens: int = Field(1024, ge=1)
    timeout_seconds: int = Field(300, ge=1)


Level = Literal["none", "percent", "atr"]


class DemoTrader(_Strict):
    # Paper only, like the account: no live flag.
    name: str = Field(min_length=1, max_length=100)
    account: str = Field(description="The exchange account's name.")
    risk_profile: str = Field(description="The risk profile's name.")
    strategy: str | None = Field(None, description="The strategy's name.")
    markets: list[str] = Field([], description="Symbols on the account's exchange.")
    sizing: Literal["risk", "fixed"] | None = None
    sizing_pct: Decimal | None = None
    stop_loss: Level | None = None
    stop_loss_value: Decimal | None = None
    take_profit: Level | None = None
    take_profit_value: Decimal | None = None
    decision_mode: Literal["rules", "ai"] | None = None
    model_config_name: str | None = Field(None, description="AI mode: the model config's name.")
    ai_ask: Literal["signal", "cycle"] | None = None
    start: bool = Field(False, description="Start the trader's cycles once it is created.")


class DemoFixtures(_Strict):
    exchange_accounts: list[DemoAccount] = []
    risk_profiles: list[DemoRiskProfile] = []
    strategies: list[DemoStrategy] = []
    model_configs: list[DemoModelConfig] = []
    traders: list[DemoTrader] = []


def demo_fixtures_read(path: Path) -> DemoFixtures:
    try:
        return DemoFixtures.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except OSError as exc:
        raise DemoFixtureInvalid(f"{path}: cannot be read ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise DemoFixtureInvalid(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, error['loc']))}: {error['msg']}" for error in exc.errors())
        raise DemoFixtureInvalid(f"{path}: {problems}") from None


@transaction.atomic
def demo_fixtures_load(*, path: Path = DEMO_FIXTURES) -> list[str]:
    """Create what the fixtures list and is missing; return one line per row.

    All or nothing: a refused row rolls back the rows created before it.
    """
    fixtures = demo_fixtures_read(path)
    return [
        *_load(path, "exchange_accounts", fixtures.exchange_accounts, ExchangeAccount, _account_create),
        *_load(path, "risk_profiles", fixtures.risk_profiles, RiskProfile, _risk_profile_create),
        *_load(path, "strategies", fixtures.strategies, Strategy, _strategy_create),
        *_load(path, "model_configs", fixtures.model_configs, ModelConfig, _model_config_create),
        *_load(path, "traders", fixtures.traders, Trader, _trader_create, _trader_reuse),
    ]


def _load(
    path: Path,
    key: str,
    rows: Sequence[Row],
    model: type[models.Model],
    create: Callable[[Row], str],
    reuse: Callable[[Any, Row], str] | None = None,
) -> list[str]:
    """Create each missing row; an existing one is left as it is, or handed to `reuse`."""
    noun = model._meta.verbose_name
    lines = []
    for index, row in enumerate(rows):
        found = model._default_manager.filter(name=row.name).first()
        try:
            if found is None:
                lines.append(f"Created {noun} '{row.name}'{create(row)}.")
            else:
                lines.append(reuse(found, row) if reuse else f"{noun.capitalize()} '{row.name}' already exists.")
        except ServiceValidationError as exc:
            raise DemoFixtureInvalid(f"{path}: {key}.{index} ({row.name!r}): {exc}") from None
    return lines


def _account_create(row: DemoAccount) -> str:
    exchange_account_create(name=row.name, exchange=row.exchange, paper_starting_balance=row.paper_starting_balance)
    return " (paper)"


def _risk_profile_create(row: DemoRiskProfile) -> str:
    risk_profile_create(**row.model_dump())
    return ""


def _strategy_create(row: DemoStrategy) -> str:
    strategy = strategy_from_preset(
        preset=row.preset,
        name=row.name,
        timeframe=row.timeframe,
        markets=row.markets,
        rules=row.rules,
        description=row.description or None,
    )
    if row.enabled:
        strategy_toggle(strategy=strategy, enabled=True)
    return f" from the preset {row.preset} on {row.timeframe}" + (", enabled" if row.enabled else "")


def _model_config_create(row: DemoModelConfig) -> str:
    model_config_create(**row.model_dump())
    return f" (local llama.cpp: {row.model})"


def _trader_create(row: DemoTrader) -> str:
    account = _named(ExchangeAccount, row.account, field="account")
    trader = trader_create(
        name=row.name,
        account=account,
        risk_profile=_named(RiskProfile, row.risk_profile, field="risk_profile"),
        markets=_markets(account, row.markets),
        **_trader_rules(row),
    )
    return f" (paper) on '{row.account}'{_trader_started(trader, row)}"


def _trader_reuse(trader: Trader, row: DemoTrader) -> str:
    """A trader that has a strategy is left as it is; one without (an older demo's) gets the row's."""
    if trader.strategy_id is not None or row.strategy is None:
        return f"Trader '{row.name}' already exists."
    changes = {**_trader_rules(row), "markets": _markets(trader.account, row.markets)}
    trader = trader_update(trader=trader, changes=changes)
    return f"Trader '{row.name}' now trades '{row.strategy}'{_trader_started(trader, row)}."


def _trader_rules(row: DemoTrader) -> dict[str, Any]:
    """The trader's strategy and the rules the row sets (the model's defaults for the others)."""
    rules: dict[str, Any] = {field: getattr(row, field) for field in TRADER_RULES if getattr(row, field) is not None}
    if row.strategy is not None:
        rules["strategy"] = _named(Strategy, row.strategy, field="strategy")
    if row.model_config_name is not None:
        rules["ai_model_config"] = _named(ModelConfig, row.model_config_name, field="ai_model_config")
    return rules


def _trader_started(trader: Trader, row: DemoTrader) -> str:
    if not row.start:
        return ""
    trader_start(trader=trader, user=None)
    return f", started on {', '.join(row.markets)}"


def _markets(account: ExchangeAccount, symbols: list[str]) -> list[Market]:
    found = {m.symbol: m for m in Market.objects.filter(exchange=account.exchange, symbol__in=symbols)}
    missing = [symbol for symbol in symbols if symbol not in found]
    if missing:
        raise ServiceValidationError("markets", f"no {account.exchange} market {', '.join(missing)}")
    return [found[symbol] for symbol in symbols]


def _named(model: type[Named], name: str, *, field: str) -> Named:
    found = model._default_manager.filter(name=name).first()
    if found is None:
        raise ServiceValidationError(field, f"no {model._meta.verbose_name} named {name!r}")
    return found
