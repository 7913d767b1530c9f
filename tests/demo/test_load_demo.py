"""`manage.py load_demo`: the rows of fixtures/demo.json, written through the services, once."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from apps.ai.models import PACKAGED_LOCAL_MODEL
from apps.demo.services import DEMO_FIXTURES, DemoFixtureInvalid, demo_fixtures_load
from apps.exchanges.models import ExchangeAccount
from apps.market.demo import demo_markets_ensure
from apps.strategies.models import Strategy
from apps.traders.models import RiskProfile, Trader
from apps.traders.services import trader_create, trader_stop

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def demo_markets_without_candles(monkeypatch) -> None:
    # Candles are tests/market/test_demo.py's business; here only the fixture rows matter, and the
    # markets the demo strategy names (a strategy may only name stored markets).
    demo_markets_ensure()
    monkeypatch.setattr("apps.demo.management.commands.load_demo.demo_market_data_load", lambda **_: None)


def load_demo(*args: str) -> str:
    out = io.StringIO()
    call_command("load_demo", *args, stdout=out)
    return out.getvalue()


def fixture_file(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "demo.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def shipped() -> dict[str, Any]:
    return json.loads(DEMO_FIXTURES.read_text(encoding="utf-8"))


def test_load_demo_creates_the_paper_account_profile_strategy_and_trader_once() -> None:
    first = load_demo()
    second = load_demo()

    trader = Trader.objects.get(name="Paper desk")
    assert (trader.name, trader.risk_profile.name, trader.account.name, trader.account.mode, trader.live) == (
        "Paper desk",
        "Standard",
        "Paper demo (Binance USDT-M)",
        "paper",
        False,
    )
    profile = RiskProfile.objects.get()
    assert (profile.max_leverage, profile.max_order_notional, profile.daily_loss_limit) == (
        5,
        Decimal(5000),
        Decimal("0.03"),
    )
    strategy = Strategy.objects.get()
    assert (strategy.name, strategy.enabled, strategy.spec["timeframe"], strategy.spec["markets"]) == (
        "RSI mean reversion (demo)",
        True,
        "1m",
        ["BTC/USDT:USDT", "ETH/USDT:USDT"],
    )
    assert strategy.spec["entry"] == {"long": {"left": "rsi_14", "op": "<", "right": 40}}
    assert strategy.spec["exit"] == {"long": {"left": "rsi_14", "op": ">", "right": 60}}
    assert strategy.description.startswith("Long when RSI(14) < 40; exit when RSI(14) > 60.")
    assert (
        "Created trader 'Paper desk' (paper) on 'Paper demo (Binance USDT-M)', started on BTC/USDT:USDT, ETH/USDT:USDT."
        in first
    )
    assert "Created" not in second and "Trader 'Paper desk' already exists." in second


def test_the_demo_trader_runs_the_demo_strategy_on_both_markets() -> None:
    load_demo()

    trader = Trader.objects.get(name="Paper desk")
    assert (trader.status, trader.strategy.name, trader.decision_mode) == (
        Trader.Status.RUNNING,
        "RSI mean reversion (demo)",
        "rules",
    )
    assert sorted(trader.markets.values_list("symbol", flat=True)) == ["BTC/USDT:USDT", "ETH/USDT:USDT"]
    rules = (trader.sizing, trader.sizing_pct, trader.stop_loss, trader.stop_loss_value)
    assert rules == ("fixed", Decimal(20), "percent", Decimal("0.2"))
    assert (trader.take_profit, trader.take_profit_value) == ("percent", Decimal("0.3"))


def test_a_stopped_demo_trader_stays_stopped(operator) -> None:
    load_demo()
    trader_stop(trader=Trader.objects.get(name="Paper desk"), user=operator)

    load_demo()

    assert Trader.objects.get(name="Paper desk").status == Trader.Status.STOPPED


def test_an_older_demo_trader_without_a_strategy_gets_it_and_starts() -> None:
    data = shipped()
    account, profile = data["exchange_accounts"][0]["name"], data["risk_profiles"][0]["name"]
    demo_fixtures_load(path=DEMO_FIXTURES)
    Trader.objects.all().delete()
    older = trader_create(
        name="Paper desk",
        account=ExchangeAccount.objects.get(name=account),
        risk_profile=RiskProfile.objects.get(name=profile),
    )

    out = load_demo()

    trader = Trader.objects.get(name="Paper desk")
    assert trader.pk == older.pk and trader.status == Trader.Status.RUNNING
    assert (trader.strategy.name, trader.markets.count(), trader.sizing) == ("RSI mean reversion (demo)", 2, "fixed")
    assert "Trader 'Paper desk' now trades 'RSI mean reversion (demo)', started on BTC/USDT:USDT, ETH/USDT:USDT." in out


def test_rows_go_through_the_services_so_history_records_them() -> None:
    load_demo()

    assert [h.history_change_reason for h in Strategy.objects.get().history.order_by("history_id")] == [
        "created",
        "enabled",
    ]
    assert ExchangeAccount.objects.get().history.count() == 1


def test_a_row_an_operator_changed_is_left_as_it_is() -> None:
    load_demo()
    RiskProfile.objects.update(max_leverage=2)

    load_demo()

    assert RiskProfile.objects.get().max_leverage == 2


def test_a_refused_row_names_file_row_and_field_and_leaves_nothing_behind(tmp_path) -> None:
    data = shipped()
    data["traders"][0]["account"] = "No such account"

    with pytest.raises(DemoFixtureInvalid) as excinfo:
        demo_fixtures_load(path=fixture_file(tmp_path, data))

    assert str(excinfo.value) == (
        f"{tmp_path / 'demo.json'}: traders.0 ('Paper desk'): account: no exchange account named 'No such account'"
    )
    # The account, profile and strategy were created before the trader failed; all rolled back.
    assert (ExchangeAccount.objects.count(), RiskProfile.objects.count(), Strategy.objects.count()) == (0, 0, 0)


def test_an_unknown_preset_is_refused_with_the_services_message(tmp_path) -> None:
    data = shipped()
    data["strategies"][0]["preset"] = "rsi_reversal"

    with pytest.raises(DemoFixtureInvalid, match=r"strategies\.0 .*preset: unknown preset 'rsi_reversal'"):
        demo_fixtures_load(path=fixture_file(tmp_path, data))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["exchange_accounts"][0].update(mode="live"), "exchange_accounts.0.mode: Extra inputs"),
        (lambda d: d["traders"][0].update(live=True), "traders.0.live: Extra inputs"),
        (lambda d: d["risk_profiles"][0].update(max_leverage=0), "risk_profiles.0.max_leverage: Input should be"),
        (lambda d: d.update(markets=[]), "markets: Extra inputs"),
    ],
)
def test_a_fixture_cannot_create_live_rows_or_carry_unknown_keys(tmp_path, change, message) -> None:
    data = shipped()
    change(data)

    with pytest.raises(DemoFixtureInvalid, match=message):
        demo_fixtures_load(path=fixture_file(tmp_path, data))
    assert not ExchangeAccount.objects.exists()


def test_a_broken_fixture_file_stops_the_command_before_anything_is_written(tmp_path) -> None:
    broken = tmp_path / "demo.json"
    broken.write_text('{"traders": [}', encoding="utf-8")

    with pytest.raises(CommandError, match=r"Nothing was loaded: .*demo.json: not valid JSON \(line 1"):
        load_demo("--fixtures", str(broken))
    assert not ExchangeAccount.objects.exists()


def test_the_demo_ai_trader_is_created_stopped_on_the_local_model() -> None:
    output = load_demo()

    trader = Trader.objects.get(name="AI paper desk")
    config = trader.ai_model_config
    assert (trader.decision_mode, trader.ai_ask, trader.status) == ("ai", "signal", Trader.Status.STOPPED)
    assert [market.symbol for market in trader.markets.all()] == ["BTC/USDT:USDT"]
    assert (config.provider, config.model, config.api_key) == ("llama_cpp", PACKAGED_LOCAL_MODEL, None)
    assert trader.strategy == Trader.objects.get(name="Paper desk").strategy
    assert "Created model config 'SmolLM2 135M (local demo)' (local llama.cpp: smollm2-135m)." in output
    assert "Created trader 'AI paper desk' (paper) on 'Paper demo (Binance USDT-M)'." in output
