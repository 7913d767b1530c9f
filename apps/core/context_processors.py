from __future__ import annotations

from django.http import HttpRequest

from apps.core.roles import RANK, Role, user_role


def roles(request: HttpRequest) -> dict[str, object]:
    return role_context(user_role(getattr(request, "user", None)))


def role_context(role: str | None) -> dict[str, object]:
    """What templates ask of the user's role, from the role alone: pages get it per request, and the
    dashboard's live fragments, rendered once per role with no request, get the same names."""
    rank = RANK[Role(role)] if role in set(Role) else 0
    return {"user_role": role, "is_operator": rank >= RANK[Role.OPERATOR], "is_admin": rank >= RANK[Role.ADMIN]}
