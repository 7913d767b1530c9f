"""Roles: viewers read, operators act on traders and orders, admins change configuration.

A role is a Django group created by migration 0001_roles. Roles are ranked, so an admin can do
everything an operator can. Superusers count as admins.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from functools import wraps
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied

if TYPE_CHECKING:
    from django.http import HttpRequest


class Role(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"


RANK = {Role.VIEWER: 1, Role.OPERATOR: 2, Role.ADMIN: 3}
NO_ROLE_MESSAGE = "Your account has no role yet. Ask an admin to add you to viewer, operator or admin."


def user_role(user: Any) -> Role | None:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.is_superuser:
        return Role.ADMIN
    names = set(user.groups.values_list("name", flat=True))
    held = [role for role in Role if role.value in names]
    return max(held, key=RANK.__getitem__, default=None)


def has_role(user: Any, role: Role) -> bool:
    held = user_role(user)
    return held is not None and RANK[held] >= RANK[role]


def role_required(role: Role) -> Callable:
    """View decorator: 403 unless the user holds `role` or a higher one."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            if not has_role(request.user, role):
                raise PermissionDenied(f"This needs the {role} role.")
            return view(request, *args, **kwargs)

        # Read by the permission test over every route (tests/core/test_route_permissions.py); functools.wraps
        # copies it onto the decorators applied above this one.
        wrapped.required_role = role  # type: ignore[attr-defined]
        return wrapped

    return decorator
