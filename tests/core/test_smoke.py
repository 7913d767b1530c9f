from __future__ import annotations

import pytest


@pytest.mark.django_db
def test_roles_exist_after_migrate(viewer, operator, admin_user) -> None:
    from apps.core.roles import Role, user_role

    assert [user_role(u) for u in (viewer, operator, admin_user)] == [Role.VIEWER, Role.OPERATOR, Role.ADMIN]
