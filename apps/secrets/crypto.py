"""Fernet encryption through django-encrypted-model-fields' crypter, used explicitly.

The library's model fields decrypt on every load and silently return the ciphertext when
decryption fails. For write-only secrets we want neither, so the Secret model keeps its
ciphertext in a plain column and only `decrypt` (called by services.secret_reveal) opens it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from encrypted_model_fields.fields import get_crypter

FINGERPRINT_LENGTH = 8


class SecretDecryptionError(Exception):
    """The configured FIELD_ENCRYPTION_KEY list does not contain the key a value was sealed with."""


MISSING_KEY_MESSAGE = (
    "a stored secret cannot be decrypted with FIELD_ENCRYPTION_KEY; "
    "the key it was encrypted with is missing from the list"
)


_crypters: dict[tuple[str, ...], MultiFernet] = {}


def current_crypter() -> MultiFernet:
    # get_crypter reads settings each call; cache per key list so a rotation (which changes
    # settings.FIELD_ENCRYPTION_KEY in-process) is picked up without a restart.
    keys = tuple(settings.FIELD_ENCRYPTION_KEY)
    if keys not in _crypters:
        _crypters[keys] = get_crypter()
    return _crypters[keys]


def encrypt(value: str) -> str:
    return current_crypter().encrypt(value.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return current_crypter().decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise SecretDecryptionError(MISSING_KEY_MESSAGE) from None


def reencrypt(token: str) -> str:
    """The same value sealed under the first configured key; the clear value stays inside cryptography."""
    try:
        return current_crypter().rotate(token.encode("ascii")).decode("ascii")
    except InvalidToken:
        raise SecretDecryptionError(MISSING_KEY_MESSAGE) from None


@lru_cache(maxsize=8)
def _crypter_for(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def opens_with(token: str, keys: Sequence[str]) -> bool:
    """Whether `keys` alone decrypt `token` (the clear value is discarded): rotation's proof step."""
    try:
        _crypter_for(tuple(keys)).decrypt(token.encode("ascii"))
    except InvalidToken:
        return False
    return True


def fingerprint(value: str) -> str:
    """A short tag that tells two values apart without revealing either (keyed, one-way)."""
    key = hashlib.sha256(("tradeops.secrets.fingerprint:" + settings.SECRET_KEY).encode()).digest()
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:FINGERPRINT_LENGTH]
