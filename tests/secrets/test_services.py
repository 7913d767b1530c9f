from __future__ import annotations

import json

import pytest
from django.urls import reverse

from apps.core.errors import ServiceValidationError
from apps.exchanges.models import ExchangeAccount
from apps.exchanges.services import exchange_account_create, exchange_account_delete
from apps.secrets.models import Secret
from apps.secrets.services import UNCHANGED, secret_fields_save, secret_reveal
from tests.secrets.owners import clear_value

pytestmark = pytest.mark.django_db


def paper_account(**secrets: str) -> ExchangeAccount:
    return exchange_account_create(name="main", exchange="binanceusdm", secrets=secrets)


def latest_reason(account: ExchangeAccount) -> str | None:
    return account.history.latest().history_change_reason


def test_set_keep_replace_remove() -> None:
    key, secret, new_key = clear_value(), clear_value(), clear_value()
    account = paper_account(api_key=key, api_secret=secret)
    assert latest_reason(account) == "api_key set; api_secret set"
    key_pk, key_fingerprint = account.api_key_id, account.api_key.fingerprint
    kept_token = account.api_secret.ciphertext

    secret_fields_save(instance=account, values={"api_key": new_key, "api_secret": UNCHANGED, "passphrase": None})
    account.refresh_from_db()
    assert account.api_key_id == key_pk, "a replaced value keeps its Secret row (and its history)"
    assert secret_reveal(secret=account.api_key, purpose="test") == new_key
    assert account.api_key.fingerprint != key_fingerprint
    assert account.api_secret.ciphertext == kept_token
    assert account.passphrase is None
    assert latest_reason(account) == "api_key replaced"

    secret_fields_save(instance=account, values={"api_key": None})
    account.refresh_from_db()
    assert account.api_key is None
    assert not Secret.objects.filter(pk=key_pk).exists(), "a removed value's Secret row is deleted"
    assert latest_reason(account) == "api_key removed"


def test_an_invalid_value_saves_nothing() -> None:
    account = paper_account()
    with pytest.raises(ServiceValidationError) as raised:
        secret_fields_save(instance=account, values={"api_key": clear_value(), "api_secret": "bad\nvalue"})
    assert raised.value.field == "api_secret"
    assert "control characters" in raised.value.message
    account.refresh_from_db()
    assert account.api_key is None and not Secret.objects.exists(), "the valid api_key rolled back with the rest"


def test_deleting_the_owner_deletes_its_secrets() -> None:
    account = paper_account(api_key=clear_value(), passphrase=clear_value())
    exchange_account_delete(account=account)
    assert not Secret.objects.exists()


def test_history_never_stores_the_value_or_ciphertext() -> None:
    values = [clear_value(), clear_value()]
    account = paper_account(api_key=values[0])
    tokens = [account.api_key.ciphertext]
    secret_fields_save(instance=account, values={"api_key": values[1]})
    tokens.append(Secret.objects.get().ciphertext)

    historical_secret = Secret.history.model
    assert "ciphertext" not in {field.name for field in historical_secret._meta.fields}
    assert Secret.history.count() == 2 and account.history.count() == 2
    stored = json.dumps(
        [*historical_secret.objects.values(), *ExchangeAccount.history.model.objects.values()], default=str
    )
    for needle in values + tokens:
        assert needle not in stored


def test_api_replacement_is_recorded_with_user_and_reason(client, admin_user) -> None:
    account = exchange_account_create(
        name="main", exchange="binanceusdm", mode="testnet", secrets={"api_key": clear_value(), "api_secret": "s" * 40}
    )
    client.force_login(admin_user)
    response = client.patch(
        reverse("api:exchangeaccount_update", kwargs={"row_id": account.pk}),
        {"api_key": clear_value()},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    record = account.history.latest()
    assert record.history_change_reason == "api_key replaced"
    assert record.history_user == admin_user
    assert Secret.history.filter(id=account.api_key_id).latest().history_user == admin_user
