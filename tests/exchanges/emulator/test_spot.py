"""The Binance spot dialect (/api/v3) with the real ccxt ``binance`` client: markets, auth, balances, orders."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import ccxt
import pytest

from apps.exchanges.emulator import ExchangeEmulator
from apps.exchanges.emulator.__main__ import parse_args
from tests.exchanges.emulator.conftest import scripted_candles

SPOT = "BTC/USDT"
D = Decimal


@pytest.fixture
def spot(emulator_factory: Callable[..., ExchangeEmulator]) -> Callable[..., tuple[ExchangeEmulator, ccxt.Exchange]]:
    def start(*rows: tuple[str, str, str, str], **options: object) -> tuple[ExchangeEmulator, ccxt.Exchange]:
        emu = emulator_factory("binance", candles={SPOT: scripted_candles(*rows)}, history=49, **options)
        client = emu.ccxt_client()
        client.load_markets()
        return emu, client

    return start


def test_binance_means_spot_and_the_cli_accepts_it(emulator_factory: Callable[..., ExchangeEmulator]) -> None:
    emu = emulator_factory("binance")
    assert emu.exchange == "binance" and set(emu.markets) == {"BTC/USDT", "ETH/USDT"}
    assert isinstance(emu.ccxt_client(), ccxt.binance) and not isinstance(emu.ccxt_client(), ccxt.binanceusdm)
    assert emulator_factory("binanceusdm").exchange == "binanceusdm"
    assert parse_args(["--exchange", "binance"]).exchange == "binance"


def test_load_markets_with_ccxt_defaults(spot: Callable) -> None:
    emu, client = spot()
    market = client.market(SPOT)
    assert market["spot"] and market["precision"]["amount"] == 0.00001 and market["precision"]["price"] == 0.01
    assert market["limits"]["amount"]["min"] == 0.00001 and market["limits"]["cost"]["min"] == 5
    paths = {r.path for r in emu.requests}
    # What ccxt 4.5.90's binance asks for on load_markets() with keys and default options.
    assert paths == {
        "/api/v3/exchangeInfo",
        "/sapi/v1/capital/config/getall",
        "/sapi/v1/margin/allPairs",
        "/sapi/v1/margin/isolated/allPairs",
        "/fapi/v1/exchangeInfo",
        "/dapi/v1/exchangeInfo",
    }
    assert emu.unhandled == []


def test_unhandled_paths_are_visible(spot: Callable) -> None:
    emu, client = spot()
    with pytest.raises(ccxt.BaseError):
        client.sapiGetAssetTradeFee()
    assert [r.path for r in emu.unhandled] == ["/sapi/v1/asset/tradeFee"]


def test_auth_is_checked(spot: Callable) -> None:
    emu, client = spot()
    client.secret = "wrong"
    with pytest.raises(ccxt.AuthenticationError):
        client.fetch_balance()
    client.secret, client.apiKey = emu.api_secret, "other-key"
    with pytest.raises(ccxt.AuthenticationError):
        client.fetch_balance()


def test_market_buy_and_sell_move_balances_with_commission(spot: Callable) -> None:
    emu, client = spot()
    buy = client.create_order(SPOT, "market", "buy", 0.01)
    assert buy["status"] == "closed" and buy["average"] == 30000
    assert buy["fee"] == {"currency": "BTC", "cost": pytest.approx(0.00001)}
    assert emu.engine.balances["BTC"] == D("0.00999") and emu.engine.balances["USDT"] == D(9700)
    assert emu.state()["balances"] == {"BTC": "0.00999", "ETH": "0", "USDT": "9700.00"}
    sell = client.create_order(SPOT, "market", "sell", 0.00999)
    assert sell["fee"]["currency"] == "USDT" and sell["fee"]["cost"] == pytest.approx(0.2997)
    balance = client.fetch_balance()
    assert balance["BTC"]["total"] == 0 and balance["USDT"]["total"] == pytest.approx(9999.4003)


def test_limit_locks_funds_and_insufficient_balance_is_2010(spot: Callable) -> None:
    emu, client = spot(("30000", "30000", "29500", "29600"))
    client.create_order(SPOT, "limit", "buy", 0.3, 29500)
    assert client.fetch_balance()["USDT"] == {"free": 1150.0, "used": 8850.0, "total": 10000.0}
    with pytest.raises(ccxt.InsufficientFunds, match="insufficient balance"):
        client.create_order(SPOT, "limit", "buy", 0.1, 29500)
    with pytest.raises(ccxt.InsufficientFunds):
        client.create_order(SPOT, "market", "sell", 0.001)
    emu.advance()
    assert client.fetch_balance()["BTC"]["total"] == pytest.approx(0.2997)


def test_stop_loss_limit_triggers_in_place_and_rests_until_traded_through(spot: Callable) -> None:
    # The first candle gaps below the stop (29000) and the limit (28950) and stays below the limit: the order
    # starts working but cannot sell at 28950 yet; the second candle trades back up through it.
    emu, client = spot(("28800", "28900", "28700", "28800"), ("28800", "29000", "28800", "28990"))
    emu.engine.balances["BTC"] = D("0.01")
    order = client.create_order(SPOT, "STOP_LOSS_LIMIT", "sell", 0.01, 28950, {"stopPrice": 29000})
    with pytest.raises(ccxt.InsufficientFunds):  # the stop order locks the BTC it may sell
        client.create_order(SPOT, "market", "sell", 0.001)
    emu.advance()
    again = client.fetch_order(order["id"], SPOT)
    assert again["status"] == "open" and again["info"]["isWorking"] is True and again["filled"] == 0
    emu.advance()
    done = client.fetch_order(None, SPOT, {"clientOrderId": order["clientOrderId"]})
    assert done["id"] == order["id"] and done["status"] == "closed" and done["average"] == 28950
    assert emu.engine.balances["BTC"] == 0


def test_stop_price_that_would_trigger_now_is_refused(spot: Callable) -> None:
    emu, client = spot()
    emu.engine.balances["BTC"] = D("0.01")
    with pytest.raises(ccxt.BaseError, match="would trigger immediately"):
        client.create_order(SPOT, "TAKE_PROFIT_LIMIT", "sell", 0.01, 29000, {"stopPrice": 29000})
