from __future__ import annotations

import re

import pytest
from cryptography.fernet import Fernet

from apps.secrets import crypto
from apps.secrets.crypto import SecretDecryptionError
from apps.secrets.services import InvalidSecretValue, normalize_secret_value, secret_create, secret_reveal
from tests.secrets.owners import clear_value

pytestmark = pytest.mark.django_db


def test_encrypt_decrypt_round_trip() -> None:
    value = clear_value() + " ünïcode ✓"
    token = crypto.encrypt(value)
    assert value not in token
    assert crypto.decrypt(token) == value
    assert crypto.encrypt(value) != token, "Fernet tokens carry a random IV; equal tokens would leak equality"


def test_reveal_returns_the_stored_value_and_stores_only_ciphertext() -> None:
    value = clear_value()
    secret = secret_create(label="exchange: api_key", value=f"  {value}\n")
    secret.refresh_from_db()
    assert value not in secret.ciphertext
    assert secret_reveal(secret=secret, purpose="test") == value, "surrounding whitespace is trimmed"


def test_reveal_without_the_original_key_raises_a_clear_error(settings) -> None:
    value = clear_value()
    secret = secret_create(label="exchange: api_key", value=value)
    settings.FIELD_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    with pytest.raises(SecretDecryptionError) as raised:
        secret_reveal(secret=secret, purpose="test")
    message = str(raised.value)
    assert "FIELD_ENCRYPTION_KEY" in message and "missing" in message
    assert value not in message and secret.ciphertext not in message
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_reveal_reads_values_sealed_with_an_older_key_in_the_list(settings) -> None:
    value = clear_value()
    secret = secret_create(label="exchange: api_key", value=value)
    settings.FIELD_ENCRYPTION_KEY = [Fernet.generate_key().decode(), *settings.FIELD_ENCRYPTION_KEY]
    assert secret_reveal(secret=secret, purpose="test") == value


def test_fingerprint_is_stable_short_and_tells_values_apart() -> None:
    value = clear_value()
    first = secret_create(label="a", value=value)
    second = secret_create(label="b", value=value)
    assert first.fingerprint == second.fingerprint == crypto.fingerprint(value)
    assert re.fullmatch(r"[0-9a-f]{8}", first.fingerprint)
    assert first.fingerprint not in value
    assert crypto.fingerprint(clear_value()) != first.fingerprint


def test_fingerprint_is_keyed_by_the_django_secret_key(settings) -> None:
    value = clear_value()
    before = crypto.fingerprint(value)
    settings.SECRET_KEY = settings.SECRET_KEY + "-other"
    assert crypto.fingerprint(value) != before, "an unkeyed hash of a short key could be brute-forced offline"


@pytest.mark.parametrize(
    ("suffix", "problem"),
    [("\n", None), ("\x00tail", "control characters"), ("x" * 5000, "longer than")],
    ids=["trailing-newline-is-trimmed", "control-character", "too-long"],
)
def test_normalize_secret_value(suffix: str, problem: str | None) -> None:
    value = clear_value()
    if problem is None:
        assert normalize_secret_value(value + suffix) == value
        return
    with pytest.raises(InvalidSecretValue, match=problem) as raised:
        normalize_secret_value(value + suffix)
    assert value not in str(raised.value) and value not in repr(raised.value)


def test_normalize_rejects_blank_values() -> None:
    with pytest.raises(InvalidSecretValue, match="is empty"):
        normalize_secret_value("  \t ")
