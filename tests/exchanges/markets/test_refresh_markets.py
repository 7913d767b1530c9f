from __future__ import annotations

import logging
from decimal import Decimal

import pytest
from django_q.models import Schedule

from apps.exchanges.emulator import ExchangeEmulator
from apps.exchanges.services import exchange_account_create
from apps.exchanges.tasks import refresh_markets
from apps.market.models import Market
from tests.exchanges.markets.test_sync_markets import BTC, stored

pytestmark = pytest.mark.django_db


def test_the_schedule_runs_hourly() -> None:
    schedule = Schedule.objects.get(name="Refresh market rules")
    assert (schedule.func, schedule.minutes) == ("apps.exchanges.tasks.refresh_markets", 60)


@pytest.mark.parametrize("emulator", ["binanceusdm"], indirect=True)
def test_refreshes_the_stored_markets_rules_and_reports_the_delisted(
    on_emulator: ExchangeEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    exchange_account_create(name="Forward test", exchange="binanceusdm", price_source="live")
    stored("binanceusdm", BTC)
    stored("binanceusdm", "SOL/USDT:USDT")

    assert refresh_markets() == "binanceusdm: 2 markets, 1 updated, 1 delisted"

    assert Market.objects.get(symbol=BTC).price_precision == Decimal("0.1")
    assert Market.objects.get(symbol="SOL/USDT:USDT").active  # reported, not deactivated
    assert "binanceusdm no longer lists ['SOL/USDT:USDT']" in caplog.text
    assert refresh_markets() == "binanceusdm: 2 markets, 0 updated, 1 delisted"


@pytest.mark.parametrize("emulator", ["binanceusdm"], indirect=True)
def test_an_unreachable_exchange_is_logged_not_raised(
    on_emulator: ExchangeEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    exchange_account_create(name="Forward test", exchange="binanceusdm", price_source="live")
    stored("binanceusdm", BTC)
    on_emulator.faults.http_error(503, count=None)

    with caplog.at_level(logging.WARNING, logger="apps.exchanges.tasks"):
        assert refresh_markets() == "binanceusdm: unreachable"

    assert "Market rules of binanceusdm not refreshed, the exchange is unreachable" in caplog.text
    assert Market.objects.get(symbol=BTC).price_precision == Decimal(1)


def test_nothing_stored_nothing_asked(on_emulator: ExchangeEmulator) -> None:
    assert refresh_markets() == "no stored markets"
    assert list(on_emulator.requests) == []


@pytest.mark.parametrize("emulator", ["binanceusdm"], indirect=True)
def test_a_desk_of_paper_accounts_on_the_replay_asks_no_exchange(on_emulator: ExchangeEmulator) -> None:
    exchange_account_create(name="Paper desk", exchange="binanceusdm")
    stored("binanceusdm", BTC)

    assert refresh_markets() == "no account needs live prices"
    assert list(on_emulator.requests) == []
