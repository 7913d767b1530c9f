"""Every command in the README's "From the terminal" section, run as written (through call_command) against
a testnet account on the exchange emulator with the real ccxt clients, in the order the README gives them.

The README and this test cannot drift: the commands are read from the README itself. The emulator stands in
for the exchange's testnet; its candles run up to this minute and one candle closes while `candles_tail`
listens. `orders place` is answered "y" at its prompt, as the README's reader would on a terminal.
"""

from __future__ import annotations

import builtins
import re
import shlex
import threading
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings as django_settings

from apps.exchanges.adapters import factory
from apps.exchanges.collect import exchange_feed_advance
from apps.exchanges.models import ExchangeAccount
from apps.exchanges.services import exchange_account_create, market_sync_from_exchange
from apps.traders.management.commands import orders as orders_command
from apps.traders.management.commands import trader_run as trader_run_command
from apps.traders.models import RiskProfile, TradePlan, Trader
from apps.traders.services import trader_create
from tests.exchanges.collect.conftest import live_emulator  # noqa: F401  (fixture)
from tests.exchanges.streaming.conftest import streaming
from tests.signals.helpers import enabled_strategy
from tests.traders.cli.conftest import SYMBOL, TESTNET
from tests.traders.cli.helpers import run

pytestmark = pytest.mark.django_db
PREFIX = ".venv/bin/python manage.py "
SECTION = "## From the terminal"


def readme_commands() -> list[list[str]]:
    """The `manage.py` command lines of the section's ```sh blocks (a trailing `# comment` dropped)."""
    text = Path(django_settings.BASE_DIR, "README.md").read_text()
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", section, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            if line.startswith(PREFIX):
                commands.append(shlex.split(line[len(PREFIX) :], comments=True))
    return commands


def test_the_section_has_the_walk_through() -> None:
    names = [(command[0], command[1] if command[0] in ("orders", "traders") else "") for command in readme_commands()]
    for expected in [
        ("orders", "place"),
        ("orders", "list"),
        ("orders", "cancel"),
        ("positions", ""),
        ("candles_tail", ""),
        ("fetch_candles", ""),
        ("trader_run", ""),
        ("traders", "status"),
        ("signals_tail", ""),
    ]:
        assert expected in names


def test_every_readme_command_runs_against_the_emulated_testnet(
    admin_user,
    live_emulator,  # noqa: F811
    monkeypatch,
    settings,
) -> None:
    settings.ORDER_ID_PREFIX = "to"
    settings.MARKET_DATA_BACKFILL_BARS = 100
    emu = live_emulator(behind=0)
    emu.set_price(SYMBOL, Decimal(28000))
    # The reader answers the prompt of `orders place` on a terminal.
    monkeypatch.setattr(orders_command, "sys", SimpleNamespace(stdin=SimpleNamespace(isatty=lambda: True)))
    monkeypatch.setattr(builtins, "input", lambda prompt: "y")
    # trader_run's pause between cycles: a new candle closes on the emulator and is collected, as the worker does.
    with streaming(emu, enable_rate_limit=False, timeout_ms=3000):
        account = exchange_account_create(
            name=TESTNET,
            exchange="binanceusdm",
            mode=ExchangeAccount.Mode.TESTNET,
            default_leverage=2,
            secrets={"api_key": emu.api_key, "api_secret": emu.api_secret},
        )
        market = market_sync_from_exchange(
            exchange="binanceusdm", rules=factory.adapter_for_account(account).rules(SYMBOL)
        )
        exchange_feed_advance(market=market, timeframe="1m")
        trader_create(
            name="Testnet desk",
            account=account,
            risk_profile=RiskProfile.objects.create(name="Testnet", symbol_cooldown_seconds=0),
            strategy=enabled_strategy("rsi_mean_reversion", name="RSI mean reversion (demo)"),
            markets=[market.pk],
        )

        def next_candle(seconds: float) -> None:
            emu.advance()
            exchange_feed_advance(market=market, timeframe="1m")

        monkeypatch.setattr(trader_run_command, "time", SimpleNamespace(sleep=next_candle))
        outputs = {}
        for command in readme_commands():
            ticker = threading.Timer(1.0, emu.advance) if command[0] == "candles_tail" else None
            if ticker:
                ticker.start()
            try:
                outputs[" ".join(command[:2])] = run(*command).out
            finally:
                if ticker:
                    ticker.cancel()
            check_effect(command, emu)
    assert Trader.objects.get().status == Trader.Status.STOPPED  # trader_run stopped it again
    assert "Risk gate: approved" in outputs["orders place"] and "27000" in outputs["orders list"]
    assert "(forming)" in outputs["candles_tail --exchange"]
    assert "hold" in outputs["trader_run Testnet desk"] and "Trader Testnet desk: stopped" in outputs["traders status"]


def check_effect(command: list[str], emu) -> None:
    """What the README says each step does, checked on the exchange itself."""
    open_orders = [order for order in emu.orders() if order.is_open]
    if command[:2] == ["orders", "place"]:
        plan = TradePlan.objects.get()
        assert [order.client_id for order in open_orders] == [f"to-{plan.pk}-en1"]
    elif command[:2] == ["orders", "cancel"]:
        assert open_orders == [] and TradePlan.objects.get().status == TradePlan.Status.CANCELLED
