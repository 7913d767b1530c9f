"""The /exchanges/ page: filters, pagination that keeps the filters, the HTMX partial."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.exchanges.services import exchange_account_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def page_client(viewer) -> Client:
    client = Client()
    client.force_login(viewer)
    return client


def test_filters_and_pages_keep_the_filters(page_client) -> None:
    for index in range(30):
        exchange_account_create(name=f"gate-{index:02d}", exchange="gate")
    exchange_account_create(name="binance-only", exchange="binanceusdm")
    first = page_client.get("/exchanges/", {"exchange": "gate"}).content.decode()
    assert "gate-00" in first and "binance-only" not in first
    assert "page 1 of 2" in first
    assert 'href="?exchange=gate&amp;page=2"' in first
    second = page_client.get("/exchanges/", {"exchange": "gate", "page": 2}).content.decode()
    assert "gate-29" in second and "gate-00" not in second


def test_htmx_gets_only_the_table(page_client) -> None:
    exchange_account_create(name="paper", exchange="binanceusdm")
    response = page_client.get("/exchanges/", {"q": "pap"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="account-table">')
    assert "paper" in body and "<nav" not in body
