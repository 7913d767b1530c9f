"""Authentication exactly as the exchanges check it, answered with their own codes and statuses."""

from __future__ import annotations

import hashlib
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable

import ccxt
import pytest

from apps.exchanges.emulator import ExchangeEmulator
from apps.exchanges.emulator.binance import binance_signature
from apps.exchanges.emulator.gate import gate_signature
from tests.exchanges.emulator.conftest import SYMBOL


def test_binance_signature_matches_the_documented_example() -> None:
    # The HMAC-SHA256 example from Binance's API documentation ("SIGNED endpoint examples").
    secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
    total = (
        "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
    )
    assert binance_signature(secret, total) == "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"


def test_gate_signature_matches_the_documented_examples() -> None:
    # The two examples of Gate's APIv4 documentation ("API Signature string generation"), key/secret "key"/"secret".
    get = gate_signature(
        "secret", "GET", "/api/v4/futures/orders", "contract=BTC_USD&status=finished&limit=50", b"", "1541993715"
    )
    assert get.startswith("55f84ea195d6fe57ce62464daaa7c3c02fa9d1dde954e4c898289c9a2407a3d6")
    body = b'{"contract":"BTC_USD","type":"limit","size":100,"price":6800,"time_in_force":"gtc"}'
    post = gate_signature("secret", "POST", "/api/v4/futures/orders", "", body, "1541993715")
    assert post.startswith("eae42da914a590ddf727473aff25fc87d50b64783941061f47a3fdb92742541f")


def test_public_endpoints_need_no_key(emulator: ExchangeEmulator) -> None:
    client = emulator.ccxt_client(apiKey=None, secret=None)
    assert client.fetch_ticker(SYMBOL)["last"] > 0


def test_wrong_api_key_is_an_authentication_error(emulator: ExchangeEmulator) -> None:
    client = emulator.ccxt_client(apiKey="not-the-key")
    client.load_markets()
    code = "INVALID_KEY" if emulator.exchange == "gate" else "-2015"
    with pytest.raises(ccxt.AuthenticationError, match=code):
        client.fetch_balance()


def test_wrong_secret_fails_the_signature_check(emulator: ExchangeEmulator) -> None:
    client = emulator.ccxt_client(secret="not-the-secret")
    client.load_markets()
    code = "INVALID_SIGNATURE" if emulator.exchange == "gate" else "-1022"
    with pytest.raises(ccxt.AuthenticationError, match=code):
        client.create_order(SYMBOL, "market", "buy", 100 if emulator.exchange == "gate" else 0.01)
    assert emulator.engine.orders == {}


@pytest.mark.parametrize("skew_s", [-120, 120])
@pytest.mark.parametrize("exchange_name", ["binanceusdm", "gate"])
def test_stale_or_future_timestamp_is_refused(
    exchange_name: str, skew_s: int, emulator_factory: Callable[..., ExchangeEmulator]
) -> None:
    emulator = emulator_factory(exchange_name, clock=lambda: time.time() + skew_s)
    client = emulator.ccxt_client()
    client.load_markets()
    if exchange_name == "gate":
        with pytest.raises(ccxt.AuthenticationError, match="REQUEST_EXPIRED"):
            client.fetch_balance()
    else:
        # -1021 "outside of the recvWindow" / "ahead of the server's time": ccxt's InvalidNonce (a NetworkError).
        with pytest.raises(ccxt.InvalidNonce, match="-1021"):
            client.fetch_balance()
        client.load_time_difference()  # what ccxt's adjustForTimeDifference does: then it signs in server time
        assert client.fetch_balance()["USDT"]["total"] == 10000


def _raw(
    emulator: ExchangeEmulator, method: str, path: str, *, headers: dict[str, str] | None = None, body: bytes = b""
) -> tuple[int, dict]:
    request = urllib.request.Request(emulator.url + path, data=body or None, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_missing_credentials_are_rejected_with_401(emulator: ExchangeEmulator) -> None:
    if emulator.exchange == "gate":
        status, body = _raw(emulator, "GET", "/api/v4/futures/usdt/accounts")
        assert (status, body["label"]) == (401, "MISSING_REQUIRED_HEADER")
    else:
        status, body = _raw(emulator, "GET", "/fapi/v3/account?timestamp=1&signature=00")
        assert (status, body["code"]) == (401, -2014)


@pytest.mark.parametrize("emulator", ["binanceusdm"], indirect=True)
def test_binance_signs_query_string_plus_body(emulator: ExchangeEmulator) -> None:
    # Binance's totalParams: parameters may be split between the query string and the body.
    query = "symbol=BTCUSDT"
    body = f"leverage=9&recvWindow=5000&timestamp={int(time.time() * 1000)}"
    signature = binance_signature(emulator.api_secret, query + body)
    headers = {"X-MBX-APIKEY": emulator.api_key, "Content-Type": "application/x-www-form-urlencoded"}
    status, answer = _raw(
        emulator, "POST", f"/fapi/v1/leverage?{query}", headers=headers, body=f"{body}&signature={signature}".encode()
    )
    assert (status, answer["leverage"]) == (200, 9)
    status, answer = _raw(
        emulator, "POST", f"/fapi/v1/leverage?{query}", headers=headers, body=f"{body}&signature={'0' * 64}".encode()
    )
    assert (status, answer["code"]) == (400, -1022)


@pytest.mark.parametrize("emulator", ["gate"], indirect=True)
def test_gate_signature_covers_the_body(emulator: ExchangeEmulator) -> None:
    body = json.dumps({"contract": "BTC_USDT", "size": 1, "price": "0", "tif": "ioc"}).encode()
    timestamp = str(int(time.time()))
    path = "/api/v4/futures/usdt/orders"
    sign = gate_signature(emulator.api_secret, "POST", path, "", body, timestamp)
    headers = {"KEY": emulator.api_key, "Timestamp": timestamp, "SIGN": sign, "Content-Type": "application/json"}
    tampered = body.replace(b'"size": 1', b'"size": 9')
    status, answer = _raw(emulator, "POST", path, headers=headers, body=tampered)
    assert (status, answer["label"]) == (401, "INVALID_SIGNATURE")
    status, answer = _raw(emulator, "POST", path, headers=headers, body=body)
    assert status == 201 and answer["size"] == 1 and answer["status"] == "finished"
    assert hashlib.sha512(b"").hexdigest().startswith("cf83e1357eefb8bd")  # the empty-body hash Gate documents
