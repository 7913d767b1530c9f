"""What /metrics reads from the database at scrape time (registered in TradersConfig.ready): each trader's
status, last heartbeat, equity, PnL and drawdown, orders by status and exchange, open alerts. Grouped counts and at most
MAX_TRADERS rows, so a scrape stays cheap however long the history grows."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, Max, OuterRef, Subquery
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from apps.traders.models import Alert, EquitySnapshot, Execution, Trader

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
        rows = list(Trader.objects.order_by("pk").values_list("pk", "name", "status", "heartbeat_at")[:MAX_TRADERS])
        for pk, name, status, heartbeat_at in rows:
            info.add_metric([str(pk), name, status], 1)
            if heartbeat_at is not None:
                heartbeat.add_metric([str(pk)], heartbeat_at.timestamp())
        yield info
        yield heartbeat
        yield from self._equity([row[0] for row in rows])
        yield from self._orders()
        yield from self._alerts()

    def _equity(self, trader_ids: list[int]) -> Iterable[Metric]:
        """From each trader's latest equity snapshot (apps.traders.services.pnl writes them on fills and on
        a schedule), and its highest snapshot for the drawdown: two queries over the (trader, time) index."""
        labels = ["trader"]
        equity = GaugeMetricFamily("tradeops_trader_equity", "Equity at the latest snapshot.", labels=labels)
        net = GaugeMetricFamily(
            "tradeops_trader_pnl", "Net PnL at the latest snapshot: realised + unrealised - fees.", labels=labels
        )
        drawdown = GaugeMetricFamily(
            "tradeops_trader_drawdown", "Latest equity below the highest snapshot, as a fraction (<= 0).", labels=labels
        )
        moment = GaugeMetricFamily(
            "tradeops_trader_equity_timestamp_seconds", "When the latest snapshot was taken (Unix time).", labels=labels
        )
        latest = EquitySnapshot.objects.filter(trader=OuterRef("pk")).order_by("-time", "-id").values("pk")[:1]
        latest_ids = Trader.objects.filter(pk__in=trader_ids).annotate(snapshot=Subquery(latest)).values("snapshot")
        peaks = dict(
            EquitySnapshot.objects.filter(trader_id__in=trader_ids)
            .order_by()
            .values_list("trader_id")
            .annotate(peak=Max("equity"))
        )
        for snapshot in EquitySnapshot.objects.filter(pk__in=latest_ids):
            trader = [str(snapshot.trader_id)]
            equity.add_metric(trader, float(snapshot.equity))
            net.add_metric(trader, float(snapshot.realised + snapshot.unrealised - snapshot.fees))
            peak = peaks.get(snapshot.trader_id)
            drawdown.add_metric(trader, float(snapshot.equity / peak - 1) if peak and peak > 0 else 0.0)
            moment.add_metric(trader, snapshot.time.timestamp())
        yield from (equity, net, drawdown, moment)

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
