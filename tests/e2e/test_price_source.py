"""A paper account on live prices, offline, in a browser: the account page says where its prices come
from and that the exchange is unreachable, above the stopped feed's reason."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import expect

from apps.exchanges.services import exchange_account_create
from apps.market.models import MarketFeed
from tests.factories import MarketFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_a_live_priced_paper_account_offline_says_the_exchange_is_unreachable(page: Any, log_in: Any) -> None:
    market = MarketFactory()
    MarketFeed.objects.create(
        market=market,
        timeframe="1m",
        source=MarketFeed.Source.EXCHANGE,
        horizon=datetime(2026, 12, 4, 5, 0, tzinfo=UTC),
        state=MarketFeed.State.STOPPED,
        state_reason="exchange unreachable: NetworkError",
    )
    account = exchange_account_create(name="Forward test", exchange="binanceusdm", price_source="live")
    log_in(UserFactory(role="admin"))

    page.goto(f"/exchanges/{account.pk}/")

    expect(page.locator("#account-prices .badge")).to_have_text("live exchange prices")
    expect(page.locator("#account-prices")).to_contain_text("not while the account has open positions or orders")
    expect(page.locator("#account-prices").get_by_role("link", name="admin")).to_have_attribute(
        "href", f"/admin/exchanges/exchangeaccount/{account.pk}/change/"
    )
    expect(page.locator("#exchange-silent")).to_be_visible()
    expect(page.locator("#exchange-silent")).to_contain_text("Exchange unreachable")
    expect(page.locator("#feed-table .feed-stopped")).to_contain_text("stopped: exchange unreachable: NetworkError")
