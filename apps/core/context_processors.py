from __future__ import annotations

from django.http import HttpRequest

from apps.core.roles import Role, has_role, user_role


def roles(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    return {
        "user_role": user_role(user),
        "is_operator": has_role(user, Role.OPERATOR),
        "is_admin": has_role(user, Role.ADMIN),
    }
