"""What a person reads on the trade pages: prices at the market's tick (0.1 here), amounts at its step
(0.001), money in cents; what the API answers keeps every decimal."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.traders.models import TradePlan
from tests.traders.trading.test_api import client_for, setup_paper_trader
from tests.traders.trading.test_pages import HTMX, PREVIEW, ticket

pytestmark = pytest.mark.django_db


def test_a_ticket_error_names_the_entry_at_the_markets_tick(operator) -> None:
    trader, _feed = setup_paper_trader()
    body = ticket(trader, order_type="limit", entry_price="19999.987654321", stop_loss="20500")
    page = client_for(operator).post(PREVIEW, body, headers=HTMX).content.decode()
    assert "a buy plan&#x27;s stop-loss must be below the entry 20000" in page
    assert "19999.987654321" not in page.replace('value="19999.987654321"', "")  # only the input keeps it
    assert not TradePlan.objects.exists()


def test_the_preview_shows_money_in_cents_and_the_api_keeps_full_precision(operator) -> None:
    trader, _feed = setup_paper_trader()
    client = client_for(operator)
    page = client.post(PREVIEW, ticket(trader), headers=HTMX).content.decode()
    plan = TradePlan.objects.get()
    # 0.2 at 20,000 = 4,000 notional; the taker fee 0.0004 of it is 1.6.
    assert Decimal(plan.estimate["notional"]) == 4000
    assert '<th>Notional</th><td class="num">4,000.00</td>' in page
    assert '<th>Entry fee</th><td class="num">1.60</td>' in page
    assert "max_order_notional" in page and "4,000.00 USDT within 5,000.00 USDT" in page

    body = client.get(f"/api/v1/trade/plans/{plan.pk}").json()
    assert Decimal(body["estimate"]["notional"]) == Decimal(4000)
    assert body["quantity"] == "0.2" and Decimal(body["reference_price"]) == Decimal(20000)
