"""API schema pieces shared by every model that owns secrets."""

from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import SecretStr

from apps.secrets.models import Secret
from apps.secrets.services import UNCHANGED, SecretInput, secret_status


class SecretStatusOut(Schema):
    """What the API shows of a secret: that it is set, its fingerprint, when it last changed."""

    is_set: bool
    fingerprint: str | None
    updated_at: datetime | None


def secret_status_out(secret: Secret | None) -> SecretStatusOut:
    status = secret_status(secret)
    return SecretStatusOut(is_set=status.is_set, fingerprint=status.fingerprint, updated_at=status.updated_at)


def secret_inputs(payload: Schema, fields: tuple[str, ...]) -> dict[str, SecretInput]:
    """Omitted field: keep the stored value. null: remove it. A string: replace it."""
    values: dict[str, SecretInput] = {}
    for field in fields:
        if field not in payload.model_fields_set:
            values[field] = UNCHANGED
            continue
        raw: SecretStr | None = getattr(payload, field)
        values[field] = None if raw is None else raw.get_secret_value()
    return values
