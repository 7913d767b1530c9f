from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.errors import HttpError
from ninja.security import SessionAuth

from apps.core.roles import NO_ROLE_MESSAGE, Role, has_role


class RoleSessionAuth(SessionAuth):
    """Session login (with CSRF on writes) plus a role: the viewer role for every endpoint, and the
    role an endpoint passes (`auth=OPERATOR`, `auth=ADMIN`) for those that change things.

    No login: 401. Logged in without any role: 403. A role too low: 403. ninja runs the auth before
    it reads the request body, so a caller without the role gets 403 whatever it sends, never field
    errors about a body it may not send at all.
    """

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


VIEWER = RoleSessionAuth()
OPERATOR = RoleSessionAuth(Role.OPERATOR)
ADMIN = RoleSessionAuth(Role.ADMIN)
