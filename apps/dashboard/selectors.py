from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When

from apps.ai.models import ModelConfig
from apps.audit.models import DecisionLog
from apps.backtests.models import BacktestRun
from apps.exchanges.models import ExchangeAccount
from apps.market.models import Candle, Market
from apps.signals.models import Signal
from apps.strategies.models import Strategy
from apps.traders.models import ACTIVE_TRADER_STATUSES, Alert, Trader
from apps.traders.selectors import alert_list, kill_switch_get

BANNER_ALERTS = 3


@dataclass(frozen=True)
class Overview:
    markets: int
    candles: int
    exchange_accounts: int
    traders: int
    traders_active: int
    decisions: int
    kill_switch_engaged: bool
    strategies: int
    strategies_enabled: int
    signals: int
    backtests: int
    model_configs: int


def overview() -> Overview:
    strategies = Strategy.objects.aggregate(total=Count("id"), enabled=Count("id", filter=Q(enabled=True)))
    return Overview(
        markets=Market.objects.count(),
        candles=Candle.objects.count(),
        exchange_accounts=ExchangeAccount.objects.count(),
        traders=Trader.objects.count(),
        traders_active=Trader.objects.filter(status__in=ACTIVE_TRADER_STATUSES).count(),
        decisions=DecisionLog.objects.count(),
        kill_switch_engaged=kill_switch_get().engaged,
        strategies=strategies["total"],
        strategies_enabled=strategies["enabled"],
        signals=Signal.objects.count(),
        backtests=BacktestRun.objects.count(),
        model_configs=ModelConfig.objects.count(),
    )


@dataclass(frozen=True)
class AlertBanner:
    """What every page shows while alerts are open: how many, how many critical, the first few."""

    count: int
    critical: int
    first: list[Alert]

    @property
    def more(self) -> int:
        return self.count - len(self.first)


def alert_open_list() -> QuerySet:
    """Unacknowledged alerts, critical first, then warnings, then newest first."""
    severity = Case(
        When(level=Alert.Level.CRITICAL, then=Value(0)),
        When(level=Alert.Level.WARNING, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return alert_list(acknowledged=False).order_by(severity, "-created_at", "-id")


def alert_acknowledged_list() -> QuerySet:
    """Acknowledged alerts, newest first."""
    return alert_list(acknowledged=True)


def alert_banner() -> AlertBanner | None:
    """None while nothing is open, so pages show no banner."""
    alerts = alert_open_list()
    counts = alerts.aggregate(count=Count("id"), critical=Count("id", filter=Q(level=Alert.Level.CRITICAL)))
    if not counts["count"]:
        return None
    return AlertBanner(count=counts["count"], critical=counts["critical"], first=list(alerts[:BANNER_ALERTS]))
