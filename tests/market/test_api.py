from __future__ import annotations

import pytest

from apps.market.models import ExchangeId, Market
from apps.market.services import candle_series_import
from tests.factories import MarketFactory
from tests.market.helpers import freqtrade_rows, series_of

pytestmark = pytest.mark.django_db

URL = "/api/v1/markets"
NEW_MARKET = {
    "exchange": "binanceusdm",
    "symbol": "SOL/USDT:USDT",
    "base": "SOL",
    "quote": "USDT",
    "type": "swap",
    "price_precision": "0.001",
    "amount_precision": "1",
    "min_amount": "1",
    "min_notional": "5",
}


def test_viewer_lists_and_filters_markets(client, viewer) -> None:
    MarketFactory()
    MarketFactory(symbol="ETH/USDT:USDT", base="ETH", active=False)
    MarketFactory(exchange=ExchangeId.BINANCE, symbol="BTC/USDT", type=Market.Type.SPOT)
    client.force_login(viewer)

    everything = client.get(URL).json()
    spot = client.get(URL, {"exchange": "binance"}).json()
    eth = client.get(URL, {"search": "eth"}).json()
    active = client.get(URL, {"active": "true", "type": "swap"}).json()
    paged = client.get(URL, {"limit": 1, "offset": 1, "ordering": "-symbol"}).json()

    assert everything["count"] == 3
    assert [m["symbol"] for m in spot["items"]] == ["BTC/USDT"]
    assert [m["symbol"] for m in eth["items"]] == ["ETH/USDT:USDT"]
    assert [m["symbol"] for m in active["items"]] == ["BTC/USDT:USDT"]
    assert [m["symbol"] for m in paged["items"]] == ["BTC/USDT:USDT"]
    assert everything["items"][0]["price_precision"] == "0.100000000000"


def test_viewer_reads_a_market_and_its_coverage(client, viewer) -> None:
    market = MarketFactory()
    candle_series_import(
        market=market, timeframe="1h", series=series_of(freqtrade_rows(6, skip=(2,))), source="/data/btc.json"
    )
    client.force_login(viewer)

    detail = client.get(f"{URL}/{market.pk}")
    coverage = client.get(f"{URL}/{market.pk}/coverage")

    assert detail.status_code == 200 and detail.json()["symbol"] == "BTC/USDT:USDT"
    assert coverage.json() == [
        {
            "timeframe": "1h",
            "first_open_time": "2024-01-01T00:00:00Z",
            "last_open_time": "2024-01-01T05:00:00Z",
            "bars": 5,
            "gaps": 1,
            "source": "/data/btc.json",
            "synthetic": False,
        }
    ]
    assert client.get(f"{URL}/999999/coverage").status_code == 404


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_only_admins_write(client, request, role) -> None:
    market = MarketFactory()
    client.force_login(request.getfixturevalue(role))

    assert client.post(URL, NEW_MARKET, content_type="application/json").status_code == 403
    assert client.patch(f"{URL}/{market.pk}", {"active": False}, content_type="application/json").status_code == 403
    assert client.delete(f"{URL}/{market.pk}").status_code == 403
    assert Market.objects.count() == 1 and Market.objects.get().active


def test_outsider_cannot_write_either(client, outsider) -> None:
    client.force_login(outsider)

    assert client.post(URL, NEW_MARKET, content_type="application/json").status_code == 403


def test_anonymous_gets_401(client) -> None:
    market = MarketFactory()

    assert client.get(URL).status_code == 401
    assert client.get(f"{URL}/{market.pk}/coverage").status_code == 401
    assert client.post(URL, NEW_MARKET, content_type="application/json").status_code == 401


def test_admin_creates_updates_and_deletes(client, admin_user) -> None:
    client.force_login(admin_user)

    created = client.post(URL, NEW_MARKET, content_type="application/json")
    market_id = created.json()["id"]
    updated = client.patch(
        f"{URL}/{market_id}", {"min_notional": "10", "notes": "listed 2020"}, content_type="application/json"
    )
    deleted = client.delete(f"{URL}/{market_id}")

    assert created.status_code == 201
    assert created.json()["symbol"] == "SOL/USDT:USDT" and created.json()["active"] is True
    assert updated.status_code == 200
    assert (updated.json()["min_notional"], updated.json()["notes"]) == ("10.000000000000", "listed 2020")
    assert deleted.status_code == 204
    assert not Market.objects.exists()


def test_unknown_exchange_is_422_naming_the_allowed_ones(client, admin_user) -> None:
    client.force_login(admin_user)

    response = client.post(URL, {**NEW_MARKET, "exchange": "kraken"}, content_type="application/json")

    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"][-1] == "exchange"
    assert all(value in error["msg"] for value in ("'binanceusdm'", "'gate'", "'binance'"))


def test_unknown_exchange_filter_is_422(client, viewer) -> None:
    client.force_login(viewer)

    response = client.get(URL, {"exchange": "kraken"})

    assert response.status_code == 422
    assert "'binanceusdm'" in response.json()["detail"][0]["msg"]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"type": "spot"}, "type", "markets on binanceusdm are swap, not spot"),
        ({"symbol": "SOL/USDT"}, "symbol", "swap symbols look like BASE/QUOTE:SETTLE"),
        ({"base": "ETH"}, "base", "base and quote must match the symbol: SOL/USDT"),
        ({"symbol": "BTC/USDT:USDT", "base": "BTC"}, "symbol", "BTC/USDT:USDT already exists on binanceusdm"),
        ({"price_precision": "0"}, "price_precision", "greater than 0"),
    ],
)
def test_invalid_markets_are_422_with_the_reason(client, admin_user, changes, field, message) -> None:
    MarketFactory()
    client.force_login(admin_user)

    response = client.post(URL, {**NEW_MARKET, **changes}, content_type="application/json")

    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"][-1] == field
    assert message in error["msg"]


def test_market_changes_are_recorded_with_the_user(client, admin_user) -> None:
    client.force_login(admin_user)

    market_id = client.post(URL, NEW_MARKET, content_type="application/json").json()["id"]
    client.patch(f"{URL}/{market_id}", {"min_notional": "7"}, content_type="application/json")

    history = list(Market.history.filter(id=market_id).order_by("history_date"))
    assert [(h.history_type, h.history_user, h.min_notional) for h in history] == [
        ("+", admin_user, 5),
        ("~", admin_user, 7),
    ]
