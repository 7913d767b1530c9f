"""What /metrics reads from the database at scrape time (registered in TradersConfig.ready): each trader's
status and last heartbeat, orders by status and exchange, open alerts. Grouped counts and at most
MAX_TRADERS rows, so a scrape stays cheap however long the history grows."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from apps.traders.models import Alert, Execution, Trader

MAX_TRADERS = 500


class TradersCollector(Collector):
    def collect(self) -> Iterable[Metric]:
        info = GaugeMetricFamily(
            "tradeops_trader_info", "1 per trader, with its name and status.", labels=["trader", "name", "status"]
        )
        heartbeat = GaugeMetricFamily(
            "tradeops_trader_heartbeat_timestamp_seconds",
            "When the trader's last cycle ran (Unix time); absent before its first.",
            labels=["trader"],
        )
        rows = Trader.objects.order_by("pk").values_list("pk", "name", "status", "heartbeat_at")[:MAX_TRADERS]
        for pk, name, status, heartbeat_at in rows:
            info.add_metric([str(pk), name, status], 1)
            if heartbeat_at is not None:
                heartbeat.add_metric([str(pk)], heartbeat_at.timestamp())
        yield info
        yield heartbeat
        yield from self._orders()
        yield from self._alerts()

    def _orders(self) -> Iterable[Metric]:
        orders = GaugeMetricFamily(
            "tradeops_orders", "Orders (executions) by status and exchange.", labels=["status", "exchange"]
        )
        grouped = Execution.objects.order_by().values_list("status", "plan__account__exchange").annotate(n=Count("pk"))
        for status, exchange, count in grouped:
            orders.add_metric([status, exchange], count)
        yield orders

    def _alerts(self) -> Iterable[Metric]:
        alerts = GaugeMetricFamily(
            "tradeops_alerts_open", "Alerts not acknowledged yet, by kind and level.", labels=["kind", "level"]
        )
        grouped = (
            Alert.objects.filter(acknowledged_at__isnull=True)
            .order_by()
            .values_list("kind", "level")
            .annotate(n=Count("pk"))
        )
        for kind, level, count in grouped:
            alerts.add_metric([kind, level], count)
        yield alerts
