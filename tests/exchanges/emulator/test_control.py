"""The emulator as a program: HTTP control API, unhandled paths, the CLI, standalone import, real data."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import ccxt
import pytest

from apps.exchanges.emulator import ExchangeEmulator, load_freqtrade_json
from apps.exchanges.emulator.markets import load_leverage_tiers
from apps.exchanges.emulator.testing import running_emulator
from tests.conftest import shared_data_path
from tests.exchanges.emulator.conftest import SYMBOL

REPO = Path(__file__).resolve().parents[3]


def _call(emulator: ExchangeEmulator, method: str, path: str, payload: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(emulator.url + path, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_control_api_advances_sets_prices_and_reports_state(emulator: ExchangeEmulator) -> None:
    clock = emulator.engine.feed.clock
    status, body = _call(emulator, "POST", "/_emulator/advance", {"steps": 3})
    assert status == 200 and body["clock"] == clock + 3 * 60_000
    status, body = _call(emulator, "POST", "/_emulator/price", {"symbol": SYMBOL, "price": "31234.5"})
    assert status == 200 and emulator.price(SYMBOL) == Decimal("31234.5")
    market_id = "BTCUSDT" if emulator.exchange == "binanceusdm" else "BTC_USDT"
    _call(emulator, "POST", "/_emulator/price", {"symbol": market_id, "price": "31000"})
    status, state = _call(emulator, "GET", "/_emulator/state")
    assert state["prices"][SYMBOL] == "31000" and state["account"]["wallet"] == "10000"
    status, body = _call(emulator, "POST", "/_emulator/reset")
    assert status == 200 and emulator.engine.feed.clock == clock


def test_unhandled_paths_answer_404_json_and_are_logged(
    emulator: ExchangeEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    path = "/api/v4/futures/usdt/dual_comp/positions" if emulator.exchange == "gate" else "/fapi/v1/adlQuantile"
    with caplog.at_level(logging.WARNING, logger="tradeops.emulator"):
        status, body = _call(emulator, "GET", path)
    assert status == 404
    assert body.get("label") == "NOT_FOUND" or body.get("code") == -5000
    assert [r.path for r in emulator.unhandled] == [path]
    assert "EMULATOR GAP" in caplog.text


def test_feed_exhaustion_is_reported(emulator_factory: Callable[..., ExchangeEmulator]) -> None:
    candles = {SYMBOL: [[1_679_004_900_000 + i * 60_000, 100, 101, 99, 100, 5] for i in range(3)]}
    emulator = emulator_factory("binanceusdm", candles=candles, history=1)
    assert len(emulator.advance()) == 0
    status, body = _call(emulator, "POST", "/_emulator/advance")
    assert status == 409 and "no more candles" in body["error"]


def test_the_package_imports_nothing_from_django() -> None:
    code = (
        "import sys, apps.exchanges.emulator, apps.exchanges.emulator.testing;"
        "bad = [m for m in sys.modules if m == 'django' or m.startswith('django.')];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, timeout=60)


def test_cli_serves_until_interrupted() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "apps.exchanges.emulator",
            "--exchange",
            "gate",
            "--port",
            "0",
            "--api-key",
            "K",
            "--api-secret",
            "S",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        url = line.split()[3]
        with urllib.request.urlopen(url + "/api/v4/spot/time", timeout=5) as response:
            assert abs(json.loads(response.read())["server_time"] - time.time() * 1000) < 5000
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.shared_data
def test_real_candles_drive_the_feed() -> None:
    path = shared_data_path("ohlcv", "binance_BTCUSDT_1m_2023-03-16_2023-05-01.freqtrade.json")
    rows = json.loads(path.read_text())[:3000]
    candles = load_freqtrade_json(path)[:3000]
    with running_emulator("binanceusdm", candles={SYMBOL: candles}, history=1500) as emulator:
        client = emulator.ccxt_client()
        latest = client.fetch_ohlcv(SYMBOL, "1m", limit=2)
        assert latest == [
            [r[0], *r[1:5], float(Decimal(str(r[5])).quantize(Decimal("0.001")))] for r in rows[1499:1501]
        ]
        emulator.advance()
        assert client.fetch_ticker(SYMBOL)["last"] == rows[1501][4]


@pytest.mark.shared_data
def test_leverage_tiers_come_from_the_shared_capture() -> None:
    path = shared_data_path("exchange_fixtures", "freqtrade_binance_leverage_tiers.json")
    tiers = load_leverage_tiers(path)
    assert len(tiers[SYMBOL]) == 12 and tiers[SYMBOL][0].max_leverage == 125
    with running_emulator("binanceusdm", leverage_tiers_path=path) as emulator:
        client = emulator.ccxt_client()
        client.load_markets()
        parsed = client.fetch_leverage_tiers([SYMBOL])[SYMBOL]
        raw = json.loads(path.read_text())[SYMBOL]
        assert [(t["minNotional"], t["maxNotional"], t["maxLeverage"], t["maintenanceMarginRate"]) for t in parsed] == [
            (t["minNotional"], t["maxNotional"], t["maxLeverage"], t["maintenanceMarginRate"]) for t in raw
        ]


def test_gate_default_ccxt_options_also_load(emulator_factory: Callable[..., ExchangeEmulator]) -> None:
    # An adapter that keeps ccxt's default fetchMarkets types (spot, swap, future, option) still loads.
    emulator = emulator_factory("gate")
    client = ccxt.gate({"apiKey": emulator.api_key, "secret": emulator.api_secret, "enableRateLimit": False})
    client.urls["api"] = emulator.ccxt_urls()
    client.options["defaultType"] = "swap"
    markets = client.load_markets()
    assert set(markets) == {"BTC/USDT:USDT", "ETH/USDT:USDT"}
    assert emulator.unhandled == []
