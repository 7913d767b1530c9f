"""Four-eyes approval: a change that can lose money (going live, loosening risk, a live trader's model,
prompt or decision mode, lifting a halt) waits as a ChangeRequest until a second admin approves it.

The services that make those changes file the request instead of applying (apps.traders.services.four_eyes);
approving applies it through the same services (apps.traders.services.approvals).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords


class ChangeRequest(models.Model):
    class Kind(models.TextChoices):
        ACCOUNT_LIVE = "account_live", "Exchange account goes live"
        TRADER_LIVE = "trader_live", "Trader goes live"
        RISK_RAISE = "risk_raise", "Risk limits loosened"
        TRADER_AI = "trader_ai", "Live trader's model, prompt or decision mode"
        KILL_SWITCH_RELEASE = "kill_switch_release", "Kill switch released"
        HALT_RESET = "halt_reset", "Live trader's halt reset"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved (applied)"
        REJECTED = "rejected", "Rejected"
        CANCELLED = "cancelled", "Cancelled by the requester"
        SUPERSEDED = "superseded", "Superseded by a newer request"
        FAILED = "failed", "Failed (nothing applied)"

    class Target(models.TextChoices):
        ACCOUNT = "account", "Exchange account"
        TRADER = "trader", "Trader"
        RISK_PROFILE = "risk_profile", "Risk profile"
        KILL_SWITCH = "kill_switch", "Kill switch"
        PROMPT_TEMPLATE = "prompt_template", "Prompt template"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    target_type = models.CharField(max_length=16, choices=Target.choices)
    target_id = models.PositiveBigIntegerField()
    target_name = models.CharField(max_length=200, help_text="The target's name when the request was made.")
    changes = models.JSONField(
        help_text="{field: {before, after, before_text, after_text}}: the values the request was made against "
        "and the ones it sets. Approval fails when a 'before' no longer holds."
    )
    note = models.CharField(
        max_length=500,
        blank=True,
        help_text="The requester's reason (a kill switch release or a halt reset needs one).",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True, help_text="The decider's reason (approve or reject).")
    result = models.CharField(max_length=1000, blank=True, help_text="What applying did, or why it failed.")

    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One pending request per target and kind: a newer one supersedes the older (four_eyes).
            models.UniqueConstraint(
                fields=["target_type", "target_id", "kind"],
                condition=Q(status="pending"),
                name="change_request_one_pending",
            ),
            models.CheckConstraint(
                condition=Q(status="pending", decided_at__isnull=True)
                | (~Q(status="pending") & Q(decided_at__isnull=False)),
                name="change_request_decided_when_closed",
            ),
        ]
        indexes = [models.Index(fields=["status", "-created_at"], name="change_request_status_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()}: {self.target_name} ({self.status})"

    def diff(self) -> list[dict[str, Any]]:
        """The changes as rows for the pages: field, before, after (as a person reads them)."""
        return [
            {"field": field, "before": change.get("before_text", ""), "after": change.get("after_text", "")}
            for field, change in self.changes.items()
        ]
