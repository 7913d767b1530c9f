from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.exchanges.emulator import ExchangeEmulator
from apps.exchanges.management.commands.sync_markets import Command
from apps.market.models import Market
from apps.market.services import market_create

pytestmark = pytest.mark.django_db
BTC = "BTC/USDT:USDT"
ETH = "ETH/USDT:USDT"


def sync(*args: str) -> list[str]:
    out = StringIO()
    call_command("sync_markets", *args, stdout=out)
    return out.getvalue().splitlines()


def stored(exchange: str, symbol: str, **values: object) -> Market:
    fields: dict[str, object] = {"price_precision": Decimal("1"), "amount_precision": Decimal("1")}
    fields.update(values)
    base, quote = symbol.split(":")[0].split("/")
    return market_create(exchange=exchange, symbol=symbol, base=base, quote=quote, type="swap", **fields)


@pytest.mark.parametrize("emulator", ["binanceusdm"], indirect=True)
def test_creates_the_symbols_given_with_the_exchange_rules_then_finds_them_unchanged(
    on_emulator: ExchangeEmulator,
) -> None:
    lines = sync("--exchange", "binanceusdm", "--symbols", BTC, ETH)

    btc = Market.objects.get(exchange="binanceusdm", symbol=BTC)
    assert (btc.price_precision, btc.amount_precision) == (Decimal("0.1"), Decimal("0.001"))
    assert (btc.min_amount, btc.min_notional, btc.max_leverage) == (Decimal("0.001"), Decimal(100), None)
    assert (btc.base, btc.quote, btc.type, btc.active) == ("BTC", "USDT", "swap", True)
    assert lines == [
        "symbol         tick   step  min amount  min notional  max leverage  result",
        "BTC/USDT:USDT   0.1  0.001       0.001           100             -  created",
        "ETH/USDT:USDT  0.01  0.001       0.001            20             -  created",
        "binanceusdm: 2 created.",
    ]
    # Without --symbols: the stored markets, nothing else.
    assert sync("--exchange", "binanceusdm")[-1] == "binanceusdm: 2 unchanged."


@pytest.mark.parametrize("emulator", ["gate"], indirect=True)
def test_updates_stored_markets_only_by_default_with_maximum_leverage(on_emulator: ExchangeEmulator) -> None:
    stored("gate", BTC, min_notional=Decimal(5))

    lines = sync("--exchange", "gate")

    assert [line.split()[0] for line in lines[1:-1]] == [BTC]  # ETH is listed, not stored: left alone
    assert lines[1].split()[-2:] == ["125", "updated"]
    btc = Market.objects.get(exchange="gate", symbol=BTC)
    # Gate counts contracts of 0.0001 BTC: the step and minimum are in base units.
    assert (btc.price_precision, btc.amount_precision, btc.min_amount) == (
        Decimal("0.1"),
        Decimal("0.0001"),
        Decimal("0.0001"),
    )
    assert (btc.min_notional, btc.max_leverage) == (Decimal(0), 125)
    assert not Market.objects.filter(symbol=ETH).exists()


@pytest.mark.parametrize("emulator", ["binanceusdm"], indirect=True)
def test_all_creates_every_listed_market(on_emulator: ExchangeEmulator) -> None:
    assert sync("--exchange", "binanceusdm", "--all")[-1] == "binanceusdm: 2 created."
    assert sorted(Market.objects.values_list("symbol", flat=True)) == [BTC, ETH]


@pytest.mark.parametrize("emulator", ["binance"], indirect=True)
def test_spot(on_emulator: ExchangeEmulator) -> None:
    sync("--exchange", "binance", "--symbols", "BTC/USDT")
    market = Market.objects.get(exchange="binance", symbol="BTC/USDT")
    assert (market.type, market.price_precision, market.amount_precision) == ("spot", Decimal("0.01"), Decimal("1e-5"))
    assert market.min_notional == Decimal(5)


@pytest.mark.parametrize("emulator", ["binanceusdm"], indirect=True)
def test_a_symbol_the_exchange_does_not_list_is_named_and_nothing_changes(on_emulator: ExchangeEmulator) -> None:
    stored("binanceusdm", BTC)

    with pytest.raises(CommandError, match=r"binanceusdm does not list DOGE/USDT:USDT; nothing was changed"):
        sync("--exchange", "binanceusdm", "--symbols", ETH, "DOGE/USDT:USDT")

    assert list(Market.objects.values_list("symbol", "price_precision")) == [(BTC, Decimal(1))]


@pytest.mark.parametrize("emulator", ["binanceusdm"], indirect=True)
def test_delisted_markets_are_reported_and_deactivated_only_on_request(on_emulator: ExchangeEmulator) -> None:
    stored("binanceusdm", "SOL/USDT:USDT")

    lines = sync("--exchange", "binanceusdm", "--symbols", BTC)

    assert lines[-3:] == [
        "BTC/USDT:USDT   0.1  0.001       0.001           100             -  created",
        "SOL/USDT:USDT" + " " * 55 + "delisted",
        "binanceusdm: 1 created, 1 delisted.",
    ]
    assert Market.objects.get(symbol="SOL/USDT:USDT").active

    assert sync("--exchange", "binanceusdm", "--deactivate-missing")[-1] == "binanceusdm: 1 unchanged, 1 deactivated."
    assert not Market.objects.get(symbol="SOL/USDT:USDT").active


@pytest.mark.parametrize("emulator", ["binanceusdm"], indirect=True)
def test_an_unreachable_exchange_is_a_clear_error_and_changes_nothing(on_emulator: ExchangeEmulator) -> None:
    stored("binanceusdm", BTC)
    on_emulator.faults.http_error(503, count=None)

    with pytest.raises(CommandError, match=r"binanceusdm is unreachable, nothing was changed: ExchangeUnavailable"):
        sync("--exchange", "binanceusdm", "--symbols", ETH)

    assert list(Market.objects.values_list("symbol", "price_precision")) == [(BTC, Decimal(1))]


def test_stored_markets_none_yet(on_emulator: ExchangeEmulator) -> None:
    assert sync("--exchange", on_emulator.exchange) == [
        f"No markets stored for {on_emulator.exchange}; name some with --symbols (or --all)."
    ]


def test_an_unknown_exchange_lists_the_supported_ones_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        Command().run_from_argv(["manage.py", "sync_markets", "--exchange", "kraken"])

    assert exited.value.code == 1
    assert "unknown exchange 'kraken'; supported: binanceusdm, gate, binance" in capsys.readouterr().err
