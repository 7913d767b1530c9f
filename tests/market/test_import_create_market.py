"""import_candles --create-market: the market is created from the exchange's description (through the registry
apps.exchanges fills in at start-up), with real ccxt against the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError

from apps.exchanges.emulator import ExchangeEmulator, testing
from apps.market.models import Candle, Market
from tests.exchanges.markets.conftest import emulated
from tests.market.helpers import freqtrade_rows, write_json
from tests.market.test_import_candles import run_import

pytestmark = pytest.mark.django_db
BTC = "BTC/USDT:USDT"


@pytest.fixture
def binanceusdm() -> Iterator[ExchangeEmulator]:
    with testing.running_emulator("binanceusdm") as emu, emulated(emu):
        yield emu


@pytest.fixture
def candles(tmp_path: Path) -> Path:
    return write_json(tmp_path / "BTC_USDT-1h.json", freqtrade_rows(3))


def test_creates_the_market_from_the_exchange_then_imports(binanceusdm: ExchangeEmulator, candles: Path) -> None:
    output = run_import(candles, create_market=True)

    market = Market.objects.get(exchange="binanceusdm", symbol=BTC)
    assert (market.price_precision, market.amount_precision, market.min_notional) == (
        Decimal("0.1"),
        Decimal("0.001"),
        Decimal(100),
    )
    assert Candle.objects.filter(market=market).count() == 3
    assert "Created BTC/USDT:USDT on binanceusdm from the exchange's rules: tick 0.1, step 0.001" in output
    # A stored market is used as it is: no request to the exchange.
    requests = len(binanceusdm.requests)
    run_import(candles, create_market=True)
    assert len(binanceusdm.requests) == requests


def test_without_the_flag_the_refusal_names_it(candles: Path) -> None:
    with pytest.raises(CommandError, match="pass --create-market"):
        run_import(candles)


def test_offline_says_the_exchange_was_unreachable_and_nothing_was_imported(
    binanceusdm: ExchangeEmulator, candles: Path
) -> None:
    binanceusdm.faults.http_error(503, count=None)

    with pytest.raises(CommandError) as refused:
        run_import(candles, create_market=True)

    assert str(refused.value).startswith("binanceusdm was unreachable (ExchangeUnavailable: ")
    assert str(refused.value).endswith("; no market was created. Nothing was imported.")
    assert not Market.objects.exists() and not Candle.objects.exists()


def test_a_symbol_the_exchange_does_not_list(binanceusdm: ExchangeEmulator, candles: Path) -> None:
    with pytest.raises(CommandError, match="binanceusdm does not list DOGE/USDT:USDT"):
        run_import(candles, symbol="DOGE/USDT:USDT", create_market=True)
    assert not Market.objects.exists()


def test_a_bad_file_creates_no_market(binanceusdm: ExchangeEmulator, tmp_path: Path) -> None:
    bad = write_json(tmp_path / "bad.json", [[0, 1, 2]])
    with pytest.raises(CommandError, match="Nothing was imported"):
        run_import(bad, create_market=True)
    assert not Market.objects.exists() and list(binanceusdm.requests) == []
