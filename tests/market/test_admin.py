from __future__ import annotations

import pytest
from django.urls import reverse

from apps.market.models import Market
from apps.market.services import candle_series_import
from tests.factories import MarketFactory
from tests.market.helpers import freqtrade_rows, series_of

pytestmark = pytest.mark.django_db


def test_admin_pages_list_markets_candles_and_imports(client, admin_user) -> None:
    market = MarketFactory()
    candle_series_import(market=market, timeframe="1h", series=series_of(freqtrade_rows(3)), source="/data/btc.json")
    client.force_login(admin_user)

    for name in ("market_market", "market_candle", "market_candleimport"):
        response = client.get(reverse(f"admin:{name}_changelist"))
        assert response.status_code == 200, name
    assert client.get(reverse("admin:market_market_history", args=[market.pk])).status_code == 200
    assert "BTC/USDT:USDT" in client.get(reverse("admin:market_market_changelist"), {"q": "BTC"}).content.decode()


def test_candles_and_imports_are_read_only_in_the_admin(client, admin_user) -> None:
    client.force_login(admin_user)

    assert client.get(reverse("admin:market_candle_add")).status_code == 403
    assert client.get(reverse("admin:market_candleimport_add")).status_code == 403


def test_admin_market_form_applies_the_service_rules(client, admin_user) -> None:
    client.force_login(admin_user)
    form = {
        "exchange": "binance",
        "symbol": "BTC/USDT",
        "base": "BTC",
        "quote": "USDT",
        "type": "swap",
        "price_precision": "0.01",
        "amount_precision": "0.00001",
        "min_amount": "0",
        "min_notional": "5",
        "active": "on",
        "notes": "",
    }

    refused = client.post(reverse("admin:market_market_add"), form)
    accepted = client.post(reverse("admin:market_market_add"), {**form, "type": "spot"})

    assert refused.status_code == 200
    assert "markets on binance are spot, not swap" in refused.content.decode()
    assert accepted.status_code == 302
    market = Market.objects.get()
    assert market.history.get().history_user == admin_user
