"""Give each role group the Django model permissions that the admin site checks.

Runs after every migrate, so models added by later apps are covered without a new migration.
"""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig, apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission

from apps.core.roles import Role

PROJECT_APP_PREFIX = "apps."
# "app_label.model" names operators may change (traders, orders, plans arrive later).
OPERATOR_EDITABLE_MODELS: frozenset[str] = frozenset({"strategies.strategy"})
# Apps not ours whose admin belongs to admins: django-axes' login attempts and lockouts (deleting one unlocks).
ADMIN_ONLY_APP_LABELS: tuple[str, ...] = ("axes",)


def _project_app_configs() -> list[AppConfig]:
    return [config for config in apps.get_app_configs() if config.name.startswith(PROJECT_APP_PREFIX)]


def _admin_only_app_configs() -> list[AppConfig]:
    return [config for config in apps.get_app_configs() if config.label in ADMIN_ONLY_APP_LABELS]


def role_permissions(role: Role) -> list[Permission]:
    labels = [config.label for config in _project_app_configs()]
    if role is Role.ADMIN:
        return list(Permission.objects.filter(content_type__app_label__in=[*labels, *ADMIN_ONLY_APP_LABELS]))
    project = Permission.objects.filter(content_type__app_label__in=labels).select_related("content_type")
    granted = []
    for permission in project:
        model = f"{permission.content_type.app_label}.{permission.content_type.model}"
        if permission.codename.startswith("view_") or (role is Role.OPERATOR and model in OPERATOR_EDITABLE_MODELS):
            granted.append(permission)
    return granted


def sync_role_permissions(**_: Any) -> None:
    for config in [*_project_app_configs(), *_admin_only_app_configs()]:
        create_permissions(config, verbosity=0)
    for role in Role:
        group, _created = Group.objects.get_or_create(name=role.value)
        group.permissions.set(role_permissions(role))
