"""The admin form for exchange accounts: write-only key boxes, rules shown on the form."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.exchanges.models import ExchangeAccount
from apps.secrets.models import Secret

pytestmark = pytest.mark.django_db
ADD_URL = "/admin/exchanges/exchangeaccount/add/"


@pytest.fixture
def admin_client(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def form_data(**overrides) -> dict:
    data = {
        "name": "Binance main",
        "exchange": "binanceusdm",
        "mode": "testnet",
        "paper_starting_balance": "10000",
        "price_source": "replay",
        "default_leverage": "2",
        "margin_mode": "isolated",
        "api_key": "admin-form-key-value",
        "api_secret": "admin-form-secret-value",
        "passphrase": "",
    }
    return {**data, **overrides}


def change_url(account: ExchangeAccount) -> str:
    return f"/admin/exchanges/exchangeaccount/{account.pk}/change/"


def test_admin_adds_an_account_with_keys(admin_client) -> None:
    response = admin_client.post(ADD_URL, form_data())
    assert response.status_code == 302, response.content.decode()[:2000]
    account = ExchangeAccount.objects.get()
    assert account.api_key is not None and account.api_secret is not None
    assert account.passphrase is None


def test_change_form_shows_status_and_blank_keeps_the_value(admin_client) -> None:
    admin_client.post(ADD_URL, form_data())
    account = ExchangeAccount.objects.get()
    page = admin_client.get(change_url(account)).content.decode()
    assert f"fingerprint {account.api_key.fingerprint}" in page
    assert "admin-form-key-value" not in page

    response = admin_client.post(change_url(account), form_data(api_key="", api_secret="", default_leverage="3"))
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.default_leverage == 3
    assert account.api_key.fingerprint == ExchangeAccount.objects.get().api_key.fingerprint


def test_remove_checkbox_deletes_the_secret(admin_client) -> None:
    admin_client.post(ADD_URL, form_data(mode="paper", passphrase="admin-passphrase"))
    account = ExchangeAccount.objects.get()
    data = form_data(mode="paper", api_key="", api_secret="", passphrase_clear="on")
    assert admin_client.post(change_url(account), data).status_code == 302
    account.refresh_from_db()
    assert account.passphrase is None
    assert Secret.objects.count() == 2


def test_rule_failure_is_shown_on_the_form_and_nothing_saved(admin_client) -> None:
    response = admin_client.post(ADD_URL, form_data(mode="live", api_secret=""))
    assert response.status_code == 200
    assert "live accounts need an API key and secret" in response.content.decode()
    assert not ExchangeAccount.objects.exists()
    assert not Secret.objects.exists()
