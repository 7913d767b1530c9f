from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"
    verbose_name = "TradeOps core"

    def ready(self) -> None:
        from django_q.signals import post_execute

        from apps.core.permissions import sync_role_permissions
        from apps.core.prometheus import task_finished

        post_execute.connect(task_finished, dispatch_uid="core.task_metrics")
        post_migrate.connect(sync_role_permissions, sender=self, dispatch_uid="core.sync_role_permissions")
