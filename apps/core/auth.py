"""Who may call the API: a session login (the browser) or an API key (`Authorization: Bearer <key>`),
each with a role (the viewer role for every endpoint; `auth=OPERATOR` or `auth=ADMIN` on those that
change things).

No credentials, or a key that is unknown, revoked or expired (even beside a session): 401. Logged in
without any role: 403. A role, or a key's scope, too low: 403. ninja runs the auth before it reads the
request body, so a caller without the role gets 403 whatever it sends, never field errors about a body
it may not send.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja.errors import HttpError
from ninja.security import HttpBearer, SessionAuth

from apps.core.api_keys import ROLE_SCOPE, api_key_find, api_key_record_use, effective_role
from apps.core.models import ApiKey
from apps.core.roles import NO_ROLE_MESSAGE, RANK, Role, has_role

INVALID_KEY_MESSAGE = "The API key is unknown, revoked or expired."


class RoleSessionAuth(SessionAuth):
    """Session login (with CSRF on writes) plus a role."""

    def __init__(self, role: Role = Role.VIEWER) -> None:
        super().__init__()
        self.role = role

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if user is None:
            return None
        if not has_role(user, Role.VIEWER):
            raise HttpError(403, NO_ROLE_MESSAGE)
        if not has_role(user, self.role):
            raise HttpError(403, f"This needs the {self.role} role.")
        return user


class RoleApiKeyAuth(HttpBearer):
    """An API key plus a role: the key's scope, capped by its owner's role now. No CSRF: a script sends
    the key itself, a browser never does on its own. The owner becomes request.user, as with a login;
    the key is request.auth (the per-key rate limit counts by it)."""

    def __init__(self, role: Role = Role.VIEWER) -> None:
        super().__init__()
        self.role = role

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey:
        now = timezone.now()
        api_key = api_key_find(key=token, now=now)
        if api_key is None:
            # Refused outright, not handed on to the session: a script must learn that its key failed.
            raise HttpError(401, INVALID_KEY_MESSAGE)
        role = effective_role(api_key)
        if role is None:
            raise HttpError(403, NO_ROLE_MESSAGE)
        if RANK[role] < RANK[self.role]:
            needed = ROLE_SCOPE[self.role]
            raise HttpError(
                403, f"This needs an API key with the {needed} scope, and an owner with the {self.role} role."
            )
        api_key_record_use(api_key=api_key, address=request.META.get("REMOTE_ADDR"), now=now)
        request.user = api_key.user
        return api_key


def role_auth(role: Role) -> list[Any]:
    # A key first: a request that sends one is judged by it alone, whatever session cookie comes along.
    return [RoleApiKeyAuth(role), RoleSessionAuth(role)]


VIEWER = role_auth(Role.VIEWER)
OPERATOR = role_auth(Role.OPERATOR)
ADMIN = role_auth(Role.ADMIN)
