from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from apps.exchanges.adapters import factory
from apps.exchanges.adapters.ccxt_adapter import CcxtAdapter
from apps.exchanges.emulator import ExchangeEmulator, testing
from apps.exchanges.models import ExchangeAccount
from apps.exchanges.services import exchange_account_create
from apps.market.candles_io import ms_to_datetime
from apps.market.models import Candle, Market
from tests.exchanges.adapters.conftest import FAST_RETRY, SYMBOL
from tests.traders.approval_helpers import approved

pytestmark = pytest.mark.django_db
MINUTE = 60_000


def account_for(emu: ExchangeEmulator, *, name: str = "emu", mode: str = "testnet") -> ExchangeAccount:
    secrets = {"api_key": emu.api_key, "api_secret": emu.api_secret} if mode != "paper" else {}
    # A live account goes live once a second admin approves (four-eyes).
    return approved(exchange_account_create(name=name, exchange=emu.exchange, mode=mode, secrets=secrets))


def emulated(emu: ExchangeEmulator):
    return testing.aimed_at(emu, enable_rate_limit=False, timeout_ms=3000, retry=FAST_RETRY)


def test_testnet_uses_sandbox_and_keys_come_only_through_secret_reveal(
    emulator: ExchangeEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = account_for(emulator)
    purposes: list[str] = []
    real_reveal = factory.secret_reveal

    def spy(*, secret, purpose):
        purposes.append(purpose)
        return real_reveal(secret=secret, purpose=purpose)

    monkeypatch.setattr(factory, "secret_reveal", spy)
    with emulated(emulator):
        adapter = factory.adapter_for_account(account)
    assert isinstance(adapter, CcxtAdapter)
    assert adapter.client.isSandboxModeEnabled
    assert len(purposes) == 2 and all("'emu'" in p for p in purposes)
    assert adapter.client.apiKey == emulator.api_key
    assert any(b.currency == "USDT" for b in adapter.fetch_balance())  # keys work against the emulator


def test_live_uses_real_endpoints_with_the_rate_limiter(emulator: ExchangeEmulator) -> None:
    account = account_for(emulator, mode="live")
    adapter = factory.adapter_for_account(account)
    assert isinstance(adapter, CcxtAdapter)
    assert not adapter.client.isSandboxModeEnabled and adapter.client.enableRateLimit
    assert "127.0.0.1" not in str(adapter.client.urls["api"])


def test_paper_gets_the_paper_adapter(emulator: ExchangeEmulator) -> None:
    from apps.exchanges.adapters.paper import PaperAdapter

    adapter = factory.adapter_for_account(account_for(emulator, mode="paper"))
    assert isinstance(adapter, PaperAdapter)


@pytest.mark.parametrize("emulator", ["binanceusdm"], indirect=True)
def test_fetch_candles_end_to_end_and_resumable(emulator: ExchangeEmulator) -> None:
    account_for(emulator, name="emu-fetch")
    clock = emulator.engine.feed.clock
    since = ms_to_datetime(clock - 300 * MINUTE)
    until = ms_to_datetime(clock - 100 * MINUTE)
    args = ["--account", "emu-fetch", "--symbol", SYMBOL, "--timeframe", "1m", "--verbosity", "0"]
    with emulated(emulator):
        call_command("fetch_candles", *args, "--since", since.isoformat(), "--until", until.isoformat())
    market = Market.objects.get(exchange="binanceusdm", symbol=SYMBOL)
    assert market.price_precision == Decimal("0.1") and market.min_notional == Decimal(100)
    bars = Candle.objects.filter(market=market, timeframe="1m")
    assert bars.count() == 200
    assert bars.first().open_time == since and bars.last().open_time == until - (until - since) / 200
    stored = {c.open_time: c for c in emulator.engine.feed.history(SYMBOL)}
    sample = bars.last()
    assert sample.close == stored[clock - 101 * MINUTE].close

    # Resumes after the last stored bar and stops at the newest closed candle (the forming one is left out).
    with emulated(emulator):
        call_command("fetch_candles", *args, "--since", since.isoformat())
    assert bars.count() == 300
    assert bars.last().open_time == ms_to_datetime(clock - MINUTE)
    with emulated(emulator):
        call_command("fetch_candles", *args, "--since", since.isoformat())
    assert bars.count() == 300


def test_fetch_candles_errors(emulator: ExchangeEmulator) -> None:
    with pytest.raises(CommandError, match="no exchange account"):
        call_command(
            "fetch_candles", "--account", "nope", "--symbol", SYMBOL, "--timeframe", "1m", "--since", "2023-03-17"
        )
    account_for(emulator, name="emu-err")
    with emulated(emulator), pytest.raises(CommandError, match="no market DOGE"):
        call_command(
            "fetch_candles",
            "--account",
            "emu-err",
            "--symbol",
            "DOGE/USDT:USDT",
            "--timeframe",
            "1m",
            "--since",
            "2023-03-17",
        )
    emulator.faults.http_error(503, count=None)
    with emulated(emulator), pytest.raises(CommandError, match="ExchangeUnavailable"):
        call_command(
            "fetch_candles", "--account", "emu-err", "--symbol", SYMBOL, "--timeframe", "1m", "--since", "2023-03-17"
        )
