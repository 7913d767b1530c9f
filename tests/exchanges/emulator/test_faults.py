"""Fault injection: latency, 5xx, rate limits, lost responses and connection resets, seen through ccxt."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import ccxt
import pytest

from apps.exchanges.emulator import ExchangeEmulator
from tests.exchanges.emulator.conftest import SYMBOL, Venue


def _order_path(emulator: ExchangeEmulator) -> str:
    return "/api/v4/futures/usdt/orders" if emulator.exchange == "gate" else "/fapi/v1/order"


def _orders_with_client_id(emulator: ExchangeEmulator, client_id: str) -> list:
    return [o for o in emulator.engine.orders.values() if o.client_id == client_id and not o.parent_id]


def test_latency_beyond_the_client_timeout_is_a_request_timeout(
    emulator: ExchangeEmulator, client: ccxt.Exchange
) -> None:
    client.timeout = 300
    emulator.faults.latency(800, method="GET")
    with pytest.raises(ccxt.RequestTimeout):
        client.fetch_ticker(SYMBOL)
    assert client.fetch_ticker(SYMBOL)["last"] > 0  # count=1: the next request is on time


def test_latency_within_the_timeout_only_slows_down(emulator: ExchangeEmulator, client: ccxt.Exchange) -> None:
    emulator.faults.latency(150, count=2)
    assert client.fetch_time() > 0


def test_http_5xx_is_exchange_not_available(emulator: ExchangeEmulator, client: ccxt.Exchange, venue: Venue) -> None:
    emulator.faults.http_error(503, method="POST", path=_order_path(emulator))
    with pytest.raises(ccxt.ExchangeNotAvailable):
        client.create_order(SYMBOL, "market", "buy", venue.amount("0.01"))
    assert emulator.engine.orders == {}  # not processed
    assert client.fetch_ticker(SYMBOL)  # other paths were never affected


def test_rate_limit_429(emulator: ExchangeEmulator, client: ccxt.Exchange) -> None:
    emulator.faults.rate_limit(retry_after=3, count=2)
    # ccxt 4.5.90: Binance's 418/429 raise DDoSProtection, Gate's TOO_MANY_REQUESTS raises RateLimitExceeded;
    # the two are siblings under NetworkError, so catching one does not catch the other.
    expected = ccxt.RateLimitExceeded if emulator.exchange == "gate" else ccxt.DDoSProtection
    with pytest.raises(expected):
        client.fetch_ticker(SYMBOL)
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(emulator.url + ("/api/v4/spot/time" if emulator.exchange == "gate" else "/fapi/v1/time"))
    assert raised.value.code == 429 and raised.value.headers["Retry-After"] == "3"
    assert client.fetch_ticker(SYMBOL)


@pytest.mark.parametrize("emulator", ["binanceusdm"], indirect=True)
def test_binance_bans_with_418_after_repeated_429s(emulator: ExchangeEmulator, client: ccxt.Exchange) -> None:
    emulator.faults.rate_limit(retry_after=60, ban_after=2, count=4)
    statuses = []
    for _ in range(4):
        try:
            urllib.request.urlopen(emulator.url + "/fapi/v1/time")
        except urllib.error.HTTPError as exc:
            statuses.append((exc.code, json.loads(exc.read())["code"]))
    assert statuses == [(429, -1003), (429, -1003), (418, -1003), (418, -1003)]
    emulator.faults.rate_limit(ban_after=0)
    with pytest.raises(ccxt.DDoSProtection, match="418"):
        client.fetch_time()


def test_dropped_response_after_accept_leaves_exactly_one_order(
    emulator: ExchangeEmulator, client: ccxt.Exchange, venue: Venue
) -> None:
    emulator.faults.drop_response(method="POST", path=_order_path(emulator), count=1)
    with pytest.raises(ccxt.NetworkError):
        client.create_order(SYMBOL, "market", "buy", venue.amount("0.01"), None, {"clientOrderId": "plan-1-entry"})
    found = client.fetch_order(None, SYMBOL, {"clientOrderId": "plan-1-entry"})
    assert found["status"] == "closed" and found["filled"] == venue.amount("0.01")
    assert len(_orders_with_client_id(emulator, venue.cid("plan-1-entry"))) == 1
    assert client.fetch_positions([SYMBOL])[0]["contracts"] == venue.amount("0.01")


def test_5xx_after_accept_leaves_exactly_one_order(
    emulator: ExchangeEmulator, client: ccxt.Exchange, venue: Venue
) -> None:
    emulator.faults.error_after_accept(503, method="POST", path=_order_path(emulator))
    # Binance answers -1007 "execution status unknown" (ccxt: RequestTimeout), Gate SERVER_ERROR (ExchangeNotAvailable).
    expected = ccxt.ExchangeNotAvailable if venue.is_gate else ccxt.RequestTimeout
    with pytest.raises(expected):
        client.create_order(SYMBOL, "limit", "buy", venue.amount("0.01"), 20000, {"clientOrderId": "plan-2-entry"})
    found = client.fetch_order(None, SYMBOL, {"clientOrderId": "plan-2-entry"})
    assert found["status"] == "open"
    assert len(_orders_with_client_id(emulator, venue.cid("plan-2-entry"))) == 1


def test_dropped_response_on_a_conditional_order(
    emulator: ExchangeEmulator, client: ccxt.Exchange, venue: Venue
) -> None:
    emulator.set_price(SYMBOL, "30000")
    client.create_order(SYMBOL, "market", "buy", venue.amount("0.01"))
    path = "/api/v4/futures/usdt/price_orders" if venue.is_gate else "/fapi/v1/algoOrder"
    emulator.faults.drop_response(method="POST", path=path)
    with pytest.raises(ccxt.NetworkError):
        client.create_order(
            SYMBOL,
            "market",
            "sell",
            venue.amount("0.01"),
            None,
            {"stopLossPrice": 29000, "reduceOnly": True, "clientOrderId": venue.cid("plan-3-sl")},
        )
    open_triggers = client.fetch_open_orders(SYMBOL, params={"trigger": True})
    assert [o["clientOrderId"] for o in open_triggers] == [venue.cid("plan-3-sl")]


def test_connection_reset_is_a_network_error(emulator: ExchangeEmulator, client: ccxt.Exchange, venue: Venue) -> None:
    emulator.faults.reset(method="POST", path=_order_path(emulator))
    with pytest.raises(ccxt.NetworkError):
        client.create_order(SYMBOL, "market", "buy", venue.amount("0.01"), None, {"clientOrderId": "plan-4-entry"})
    assert _orders_with_client_id(emulator, venue.cid("plan-4-entry")) == []  # reset before processing
    assert client.create_order(SYMBOL, "market", "buy", venue.amount("0.01"))["status"] == "closed"


def test_faults_target_method_path_and_count(emulator: ExchangeEmulator, client: ccxt.Exchange) -> None:
    fault = emulator.faults.http_error(
        502,
        method="GET",
        path="/fapi/v1/ticker/*" if emulator.exchange != "gate" else "/api/v4/futures/usdt/tickers",
        count=2,
    )
    for _ in range(2):
        with pytest.raises(ccxt.ExchangeNotAvailable):
            client.fetch_ticker(SYMBOL)
    assert fault.hits == 2 and emulator.faults.active() == []
    assert client.fetch_ticker(SYMBOL)["last"] > 0


def test_faults_over_the_http_control_api(emulator: ExchangeEmulator, client: ccxt.Exchange) -> None:
    spec = {"kind": "http_error", "status": 500, "method": "GET", "count": 1}
    request = urllib.request.Request(
        emulator.url + "/_emulator/faults",
        data=json.dumps(spec).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        created = json.loads(response.read())
    assert response.status == 201 and created["kind"] == "http_error"
    with pytest.raises(ccxt.ExchangeNotAvailable):
        client.fetch_time()
    with urllib.request.urlopen(
        urllib.request.Request(emulator.url + "/_emulator/faults", method="DELETE")
    ) as response:
        assert json.loads(response.read()) == {"faults": []}
