"""Operator alerts, the rule of each kind (on/off, level, cooldown), and where they are sent.

An Alert is what the dashboard shows; an AlertChannel is a destination (an apprise URL, stored as
a write-only secret); an AlertDelivery is one alert's attempts to reach one channel. Delivery runs
in a django-q2 task after the raising transaction commits, never inside a trading cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from apps.exchanges.models.accounts import ExchangeAccount
from apps.secrets.models import Secret
from apps.traders.models.plans import TradePlan


class Alert(models.Model):
    """Something an operator must look at: drift found by reconciliation, a halt, a re-placed stop, a
    lagging market data feed. Acknowledged by an operator, or by TradeOps when the cause went away (a
    feed that caught up): then `acknowledged_by` is empty and the message says so."""

    class Level(models.TextChoices):
        INFO = "info", "Info"
        WARNING = "warning", "Warning"
        CRITICAL = "critical", "Critical"

    class Kind(models.TextChoices):
        EXECUTION_FAILED = "execution_failed", "Trade plan execution failed"
        PROTECTION_REPLACED = "protection_replaced", "Protective order re-placed"
        PROTECTION_FAILED = "protection_failed", "Protective order could not be placed"
        ORPHAN_CANCELLED = "orphan_cancelled", "Orphan order cancelled"
        POSITION_DRIFT = "position_drift", "Position differs from the plans"
        ORDER_UNKNOWN = "order_unknown", "Order state unknown"
        TRADER_HALTED = "trader_halted", "Trader halted"
        KILL_SWITCH = "kill_switch", "Global kill switch"
        RECONCILE_FAILED = "reconcile_failed", "Reconciliation failed"
        TRADER_ERROR = "trader_error", "Trader stopped after failed cycles"
        HEARTBEAT_STALE = "heartbeat_stale", "Trader heartbeat stale"
        WORKER_STOPPED = "worker_stopped", "Background worker stopped"
        DAILY_LOSS = "daily_loss", "Daily loss threshold reached"
        FEED_LAGGING = "feed_lagging", "Market data feed lagging"
        AI_BUDGET = "ai_budget", "AI trader over its daily budget"
        APPROVAL_REQUESTED = "approval_requested", "A change waits for a second admin"

    level = models.CharField(max_length=8, choices=Level.choices)
    kind = models.CharField(max_length=24, choices=Kind.choices)
    message = models.CharField(max_length=1000)
    subject = models.CharField(
        max_length=100, blank=True, help_text="What the alert is about ('plan:12', 'trader:3'): the cooldown's key."
    )
    account = models.ForeignKey(ExchangeAccount, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    plan = models.ForeignKey(TradePlan, null=True, blank=True, on_delete=models.CASCADE, related_name="alerts")
    notified = models.BooleanField(
        default=False, help_text="Sent to the channels; false when its rule is off or the cooldown held it back."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        db_table = "exchanges_alert"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["acknowledged_at", "created_at"], name="alert_open_idx"),
            models.Index(fields=["kind", "subject", "created_at"], name="alert_subject_idx"),
        ]

    def __str__(self) -> str:
        return f"[{self.level}] {self.message}"


LEVEL_RANK = {Alert.Level.INFO: 1, Alert.Level.WARNING: 2, Alert.Level.CRITICAL: 3}


@dataclass(frozen=True)
class RuleDefault:
    level: str
    cooldown_minutes: int
    threshold: Decimal | None = None


K, L = Alert.Kind, Alert.Level
RULE_DEFAULTS: dict[str, RuleDefault] = {
    K.EXECUTION_FAILED: RuleDefault(L.CRITICAL, 5),
    K.PROTECTION_REPLACED: RuleDefault(L.CRITICAL, 15),
    K.PROTECTION_FAILED: RuleDefault(L.CRITICAL, 5),
    K.ORPHAN_CANCELLED: RuleDefault(L.WARNING, 60),
    K.POSITION_DRIFT: RuleDefault(L.WARNING, 30),
    K.ORDER_UNKNOWN: RuleDefault(L.WARNING, 15),
    K.TRADER_HALTED: RuleDefault(L.CRITICAL, 5),
    K.KILL_SWITCH: RuleDefault(L.CRITICAL, 0),
    K.RECONCILE_FAILED: RuleDefault(L.WARNING, 30),
    K.TRADER_ERROR: RuleDefault(L.CRITICAL, 15),
    K.HEARTBEAT_STALE: RuleDefault(L.CRITICAL, 30, Decimal(10)),
    K.WORKER_STOPPED: RuleDefault(L.CRITICAL, 30, Decimal(5)),
    K.DAILY_LOSS: RuleDefault(L.WARNING, 240, Decimal(2)),
    K.FEED_LAGGING: RuleDefault(L.WARNING, 60),
    K.AI_BUDGET: RuleDefault(L.WARNING, 1440),
    K.APPROVAL_REQUESTED: RuleDefault(L.WARNING, 0),
}
THRESHOLD_MEANING: dict[str, str] = {
    K.HEARTBEAT_STALE: "minutes without a cycle of a running trader",
    K.WORKER_STOPPED: "minutes a schedule may be overdue",
    K.DAILY_LOSS: "percent of the UTC day's starting equity lost",
}
del K, L


class AlertRule(models.Model):
    """The settings of one alert kind. A kind without a row follows RULE_DEFAULTS
    (selectors.alert_rule_get); an admin's change writes the row."""

    kind = models.CharField(max_length=24, choices=Alert.Kind.choices, unique=True)
    enabled = models.BooleanField(default=True, help_text="Off: the alert still shows on the dashboard, unsent.")
    level = models.CharField(max_length=8, choices=Alert.Level.choices)
    cooldown_minutes = models.PositiveIntegerField(
        help_text="After an alert is sent, the same kind about the same subject is not sent again for this long."
    )
    threshold = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["kind"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.level}, {'on' if self.enabled else 'off'}"


class AlertChannel(models.Model):
    """Where alerts are sent: one apprise URL (Slack, Discord, Telegram, mailto, json:// ...), write-only."""

    SECRET_FIELDS = ("url",)

    name = models.CharField(max_length=100, unique=True)
    url = models.OneToOneField(Secret, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    enabled = models.BooleanField(default=True)
    min_level = models.CharField(
        max_length=8, choices=Alert.Level.choices, default=Alert.Level.WARNING, help_text="The lowest level sent here."
    )
    kinds = models.JSONField(default=list, blank=True, help_text="The alert kinds sent here; empty sends every kind.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def kind_labels(self) -> list[str]:
        return [Alert.Kind(kind).label for kind in self.kinds]

    def receives(self, alert: Alert) -> bool:
        wanted = not self.kinds or alert.kind in self.kinds
        return self.enabled and wanted and LEVEL_RANK[alert.level] >= LEVEL_RANK[self.min_level]


class AlertDelivery(models.Model):
    """One alert's way to one channel: pending until sent, retried a bounded number of times."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.ForeignKey(AlertChannel, null=True, on_delete=models.SET_NULL, related_name="deliveries")
    channel_name = models.CharField(max_length=100, help_text="Kept when the channel is deleted.")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True, help_text="Empty once sent or given up.")
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["alert", "channel_name", "id"]
        constraints = [models.UniqueConstraint(fields=["alert", "channel"], name="alert_delivery_once")]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="alert_delivery_due_idx")]

    def __str__(self) -> str:
        return f"alert {self.alert_id} → {self.channel_name}: {self.status} ({self.attempts} attempts)"
