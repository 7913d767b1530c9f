"""The emulator's responses carry at least the fields of real captured responses (../shared/data fixtures)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import ccxt
import pytest

from apps.exchanges.emulator import ExchangeEmulator
from tests.conftest import shared_data_path
from tests.exchanges.emulator.conftest import SYMBOL

pytestmark = pytest.mark.shared_data
NAUTILUS = ("exchange_fixtures", "binance_futures_nautilus")
HTTP_JSON = (*NAUTILUS, "crates", "adapters", "binance", "test_data", "futures", "http_json")
HTTP_RESPONSES = (*NAUTILUS, "tests", "integration_tests", "adapters", "binance", "resources", "http_responses")


def _fixture(*parts: str) -> Any:
    return json.loads(Path(shared_data_path(*parts)).read_text())


def _missing(real: dict[str, Any], ours: dict[str, Any]) -> set[str]:
    return set(real) - set(ours)


@pytest.mark.parametrize("emulator", ["binanceusdm"], indirect=True)
def test_binance_shapes(emulator: ExchangeEmulator, client: ccxt.Exchange) -> None:
    emulator.set_price(SYMBOL, "30000")
    order = client.create_order(SYMBOL, "limit", "buy", 0.01, 29000)["info"]
    assert _missing(_fixture(*HTTP_JSON, "order_response.json"), order) == set()
    client.create_order(SYMBOL, "market", "buy", 0.01)
    risk_v2 = client.fapiPrivateV2GetPositionRisk({"symbol": "BTCUSDT"})[0]
    assert _missing(_fixture(*HTTP_JSON, "position_risk.json")[0], risk_v2) == set()
    assert _missing(_fixture(*HTTP_JSON, "balance.json")[0], client.fapiPrivateV2GetBalance()[0]) == set()
    account = client.fapiPrivateV2GetAccount()
    real_account = _fixture(*HTTP_JSON, "account_info_v2.json")
    assert _missing(real_account, account) == set()
    assert _missing(real_account["assets"][0], account["assets"][0]) == set()
    assert _missing(real_account["positions"][0], account["positions"][0]) == set()
    info = client.fapiPublicGetExchangeInfo()
    real_info = _fixture(*HTTP_RESPONSES, "http_futures_market_exchange_info.json")
    assert _missing(real_info, info) == set()
    assert _missing(real_info["symbols"][0], info["symbols"][0]) == set()
    assert (
        _missing(
            _fixture(*HTTP_RESPONSES, "http_futures_market_ticker_24hr.json"),
            client.fapiPublicGetTicker24hr({"symbol": "BTCUSDT"}),
        )
        == set()
    )
    assert len(client.fapiPublicGetKlines({"symbol": "BTCUSDT", "interval": "1m", "limit": 1})[0]) == len(
        _fixture(*HTTP_RESPONSES, "http_futures_market_klines.json")[0]
    )
    trades = client.fapiPrivateGetUserTrades({"symbol": "BTCUSDT"})
    assert _missing(_fixture(*HTTP_RESPONSES, "http_futures_account_trades.json")[0], trades[0]) == set()
    algo = client.create_order(SYMBOL, "market", "sell", 0.01, None, {"stopLossPrice": 29000, "reduceOnly": True})
    # The captured open_algo_orders.json names the type "type"; Binance's docs and ccxt's live samples use
    # "orderType", which is what ccxt parses. Everything else must be there.
    assert _missing(_fixture(*HTTP_JSON, "open_algo_orders.json")[0], algo["info"]) == {"type"}


@pytest.mark.parametrize("emulator", ["gate"], indirect=True)
def test_gate_shapes(emulator: ExchangeEmulator, client: ccxt.Exchange) -> None:
    cases = _fixture("exchange_fixtures", "ccxt_static", "response_gate.json")["methods"]
    client.create_order(SYMBOL, "market", "sell", 100)
    position = client.fetch_positions([SYMBOL])[0]["info"]
    assert _missing(cases["fetchPositions"][0]["httpResponse"][0], position) == set()
    closed = client.fetch_closed_orders(SYMBOL)[0]["info"]
    real_closed = next(c for c in cases["fetchClosedOrders"] if "swap" in c["description"])["httpResponse"][0]
    assert _missing(real_closed, closed) == set()
    trade = client.fetch_my_trades(SYMBOL)[0]["info"]
    real_trade = next(c for c in cases["fetchMyTrades"] if "Swap" in c["description"])["httpResponse"][0]
    assert _missing(real_trade, trade) == set()
