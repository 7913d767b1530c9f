from __future__ import annotations

from typing import Any

from django.apps import AppConfig

RECONCILE_TASK = "apps.traders.tasks.reconcile_trades"


def reconcile_at_worker_start(sender: Any, proc_name: str = "", **kwargs: Any) -> None:
    """Each new worker process asks for a reconciliation: after a crash or a deploy, what the exchange
    did meanwhile is settled before new work. Several at once are harmless (plans are leased)."""
    from django_q.conf import Conf
    from django_q.tasks import async_task

    if Conf.SYNC:  # tests run tasks inline, where every task "spawns" a worker: no recursion
        return
    async_task(RECONCILE_TASK, task_name=f"reconcile at start of {proc_name}"[:100])


class TradersConfig(AppConfig):
    name = "apps.traders"
    verbose_name = "Traders and risk"

    def ready(self) -> None:
        from django_q.signals import post_spawn

        from apps.core.prometheus import scrape_collector_register
        from apps.exchanges import hooks
        from apps.market.collection import follower_register
        from apps.market.events import candles_released, feeds_ticked
        from apps.traders import exchange_hooks
        from apps.traders.scrape_metrics import TradersCollector
        from apps.traders.selectors import trader_followed_series
        from apps.traders.services.alerts import feed_lag_alerts_update
        from apps.traders.services.cycles import trader_cycles_enqueue

        post_spawn.connect(reconcile_at_worker_start, dispatch_uid="traders.reconcile_at_worker_start")
        hooks.order_cancel_guards.register(exchange_hooks.refuse_cancel_of_plan_order)
        hooks.paper_orders_processed.register(exchange_hooks.advance_paper_plans)
        hooks.change_requesters.register(exchange_hooks.file_change_request)
        candles_released.connect(trader_cycles_enqueue, dispatch_uid="traders.cycles_on_released_candles")
        feeds_ticked.connect(feed_lag_alerts_update, dispatch_uid="traders.feed_lag_alerts")
        follower_register(trader_followed_series)
        scrape_collector_register(TradersCollector())
