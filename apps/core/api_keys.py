"""API keys: create (the clear key is returned once, only its hash is kept), revoke, and check a
presented key. A key's scope is a role (read = viewer, trade = operator, admin = admin); it never
reaches past its owner's role, at creation and again at each use, since the owner may be demoted.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from apps.core.errors import ServiceValidationError
from apps.core.models import ApiKey
from apps.core.roles import RANK, Role, user_role

KEY_MARK = "tops_"  # every key starts with it, so a leaked key is recognisable in a secret scan
PREFIX_HEX_CHARS = 8
PREFIX_LENGTH = len(KEY_MARK) + PREFIX_HEX_CHARS
SECRET_BYTES = 32
SCOPE_ROLE: dict[str, Role] = {
    ApiKey.Scope.READ: Role.VIEWER,
    ApiKey.Scope.TRADE: Role.OPERATOR,
    ApiKey.Scope.ADMIN: Role.ADMIN,
}
ROLE_SCOPE: dict[Role, str] = {role: scope for scope, role in SCOPE_ROLE.items()}
EXPIRY_DAYS = (7, 30, 90, 365)
# last_used_at is written at most this often per key (and whenever the address changes), so a busy
# script does not turn every read into a database write.
LAST_USED_RESOLUTION = timedelta(seconds=60)


@dataclass(frozen=True)
class NewApiKey:
    row: ApiKey
    key: str  # the clear key: shown once, never stored


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _new_key() -> tuple[str, str]:
    prefix = KEY_MARK + secrets.token_hex(PREFIX_HEX_CHARS // 2)
    return prefix, f"{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"


def scopes_for(user: Any) -> list[str]:
    """The scopes `user` may give a key: those of their role and below."""
    role = user_role(user)
    if role is None:
        return []
    return [scope for scope, scope_role in SCOPE_ROLE.items() if RANK[scope_role] <= RANK[role]]


@transaction.atomic
def api_key_create(*, user: Any, name: str, scope: str, expires_in_days: int) -> NewApiKey:
    name = name.strip()
    if not name:
        raise ServiceValidationError("name", "Give the key a name, e.g. the script that will use it.")
    if scope not in SCOPE_ROLE:
        raise ServiceValidationError("scope", f"must be one of {', '.join(SCOPE_ROLE)}.")
    if scope not in scopes_for(user):
        held = user_role(user) or "no role"
        raise ServiceValidationError("scope", f"{scope} is beyond your role ({held}); a key cannot do more than you.")
    if expires_in_days not in EXPIRY_DAYS:
        raise ServiceValidationError("expires_in_days", f"must be one of {', '.join(map(str, EXPIRY_DAYS))} days.")
    prefix, key = _new_key()
    now = timezone.now()
    row = ApiKey.objects.create(
        user=user,
        name=name,
        prefix=prefix,
        key_hash=key_digest(key),
        scope=scope,
        created_at=now,
        expires_at=now + timedelta(days=expires_in_days),
    )
    return NewApiKey(row=row, key=key)


def api_key_list(*, user: Any) -> QuerySet[ApiKey]:
    """The user's own keys; an admin sees everyone's."""
    keys = ApiKey.objects.select_related("user", "revoked_by")
    return keys if user_role(user) is Role.ADMIN else keys.filter(user=user)


def can_revoke(*, user: Any, api_key: ApiKey) -> bool:
    return api_key.user_id == user.pk or user_role(user) is Role.ADMIN


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, by: Any) -> ApiKey:
    """Revoke at once (the next request with it gets 401). Revoking twice keeps the first record."""
    if not can_revoke(user=by, api_key=api_key):
        raise ServiceValidationError("api_key", "Only its owner or an admin can revoke this key.")
    locked = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    if locked.revoked_at is None:
        locked.revoked_at = timezone.now()
        locked.revoked_by = by
        locked.save(update_fields=["revoked_at", "revoked_by"])
    return locked


def api_key_find(*, key: str, now: datetime) -> ApiKey | None:
    """The active key `key` is, or None: unknown, malformed, revoked, expired, or its owner deactivated."""
    prefix = key[:PREFIX_LENGTH]
    if not prefix.startswith(KEY_MARK) or key[PREFIX_LENGTH : PREFIX_LENGTH + 1] != "_":
        return None
    row = ApiKey.objects.select_related("user").filter(prefix=prefix).first()
    if row is None or not hmac.compare_digest(row.key_hash, key_digest(key)):
        return None
    if row.status(now) != "active" or not row.user.is_active:
        return None
    return row


def effective_role(api_key: ApiKey) -> Role | None:
    """What a key may do now: its scope, capped by its owner's current role."""
    owner_role = user_role(api_key.user)
    if owner_role is None:
        return None
    return min(SCOPE_ROLE[api_key.scope], owner_role, key=RANK.__getitem__)


def api_key_record_use(*, api_key: ApiKey, address: str | None, now: datetime) -> None:
    recent = api_key.last_used_at is not None and now - api_key.last_used_at < LAST_USED_RESOLUTION
    if recent and api_key.last_used_ip == address:
        return
    api_key.last_used_at, api_key.last_used_ip = now, address
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now, last_used_ip=address)
