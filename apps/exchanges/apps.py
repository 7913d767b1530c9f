from __future__ import annotations

from typing import Any

from django.apps import AppConfig

RECONCILE_TASK = "apps.exchanges.tasks.reconcile_trades"


def reconcile_at_worker_start(sender: Any, proc_name: str = "", **kwargs: Any) -> None:
    """Each new worker process asks for a reconciliation: after a crash or a deploy, what the exchange
    did meanwhile is settled before new work. Several at once are harmless (plans are leased)."""
    from django_q.conf import Conf
    from django_q.tasks import async_task

    if Conf.SYNC:  # tests run tasks inline, where every task "spawns" a worker: no recursion
        return
    async_task(RECONCILE_TASK, task_name=f"reconcile at start of {proc_name}"[:100])


class ExchangesConfig(AppConfig):
    name = "apps.exchanges"
    label = "exchanges"

    def ready(self) -> None:
        from django_q.signals import post_spawn

        post_spawn.connect(reconcile_at_worker_start, dispatch_uid="exchanges.reconcile_at_worker_start")
