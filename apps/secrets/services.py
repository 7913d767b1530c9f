from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from django.db import transaction

from apps.core.errors import ServiceValidationError
from apps.secrets import crypto
from apps.secrets.models import Secret
from apps.secrets.redaction import remember_secret_value

logger = logging.getLogger(__name__)

MAX_SECRET_LENGTH: Final = 4096


class _Unchanged:
    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED: Final = _Unchanged()
"""Pass as a secret's new value to keep the stored one."""


class InvalidSecretValue(ValueError):
    """The message names the problem but never contains the value."""


@dataclass(frozen=True)
class SecretStatus:
    is_set: bool
    fingerprint: str | None
    updated_at: datetime | None


def normalize_secret_value(value: str) -> str:
    cleaned = value.strip()
    if not cleaned:
        raise InvalidSecretValue("is empty; to remove a secret, clear it explicitly")
    if len(cleaned) > MAX_SECRET_LENGTH:
        raise InvalidSecretValue(f"is longer than {MAX_SECRET_LENGTH} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in cleaned):
        raise InvalidSecretValue("contains control characters (a line break pasted by accident?)")
    return cleaned


def secret_status(secret: Secret | None) -> SecretStatus:
    if secret is None:
        return SecretStatus(is_set=False, fingerprint=None, updated_at=None)
    return SecretStatus(is_set=True, fingerprint=secret.fingerprint, updated_at=secret.updated_at)


@transaction.atomic
def secret_create(*, label: str, value: str) -> Secret:
    clear = normalize_secret_value(value)
    remember_secret_value(clear)
    return Secret.objects.create(label=label, ciphertext=crypto.encrypt(clear), fingerprint=crypto.fingerprint(clear))


@transaction.atomic
def secret_replace(*, secret: Secret, value: str) -> Secret:
    clear = normalize_secret_value(value)
    remember_secret_value(clear)
    secret.ciphertext = crypto.encrypt(clear)
    secret.fingerprint = crypto.fingerprint(clear)
    secret.save(update_fields=["ciphertext", "fingerprint", "updated_at"])
    return secret


@transaction.atomic
def secret_apply(*, current: Secret | None, value: str | None | _Unchanged, label: str) -> Secret | None:
    """Create, replace, keep (UNCHANGED) or remove (None) the secret a field points at.

    The caller stores the returned Secret (or None) on its own row and deletes a removed
    Secret row once nothing points at it (secret_fields_save does both).
    """
    if isinstance(value, _Unchanged):
        return current
    if value is None:
        return None
    if current is None:
        return secret_create(label=label, value=value)
    return secret_replace(secret=current, value=value)


@transaction.atomic
def secret_delete(*, secret: Secret) -> None:
    secret.delete()


def secret_reveal(*, secret: Secret, purpose: str) -> str:
    """The one decryption entry point: only for handing a key to an exchange or model client."""
    clear = crypto.decrypt(secret.ciphertext)
    remember_secret_value(clear)
    logger.info("secret %s revealed for %s", secret.pk, purpose)
    return clear


SecretInput = str | None | _Unchanged
"""A new clear value, None to remove the secret, or UNCHANGED to keep it."""


def secret_will_be_set(*, instance: object, field: str, value: SecretInput) -> bool:
    if isinstance(value, _Unchanged):
        return getattr(instance, f"{field}_id") is not None
    return value is not None


@transaction.atomic
def secret_fields_save(*, instance: Any, values: Mapping[str, SecretInput]) -> Any:
    """Save `instance` with its Secret fields set, replaced, kept or removed as `values` says.

    The history record of `instance` gets a change reason naming which secrets changed (never
    their values), so "who replaced the API key, when" shows on the owning row's history.
    """
    changes: list[str] = []
    orphans: list[Secret] = []
    for field, value in values.items():
        current: Secret | None = getattr(instance, field)
        if isinstance(value, _Unchanged):
            continue
        if value is None:
            if current is not None:
                orphans.append(current)
                changes.append(f"{field} removed")
            setattr(instance, field, None)
            continue
        try:
            secret = secret_apply(current=current, value=value, label=f"{instance}: {field}")
        except InvalidSecretValue as exc:
            raise ServiceValidationError(field, f"the value {exc}") from None
        setattr(instance, field, secret)
        changes.append(f"{field} {'replaced' if current else 'set'}")
    if changes:
        instance._change_reason = "; ".join(changes)
    instance.save()
    for secret in orphans:
        secret_delete(secret=secret)
    return instance


@transaction.atomic
def secret_fields_delete(*, instance: Any, fields: tuple[str, ...]) -> None:
    """Delete `instance` and the Secret rows it owns."""
    owned = [getattr(instance, field) for field in fields]
    instance.delete()
    for secret in owned:
        if secret is not None:
            secret_delete(secret=secret)
