from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.errors import HttpError
from ninja.security import SessionAuth

from apps.core.roles import NO_ROLE_MESSAGE, Role, has_role


class RoleSessionAuth(SessionAuth):
    """Session login (with CSRF on writes) plus at least the viewer role for every endpoint.

    No login: 401. Logged in without any role: 403. Endpoints that change things also call
    apps.core.roles.require_role with the role they need.
    """

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if user is None:
            return None
        if not has_role(user, Role.VIEWER):
            raise HttpError(403, NO_ROLE_MESSAGE)
        return user
