"""Core's tables: the idempotency records of API requests and the event log the dashboard follows.
(Core also syncs role permissions on post_migrate, which Django sends only to apps with a models module.)"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class IdempotentRequest(models.Model):
    """The first answer to a request sent with an Idempotency-Key header; a repeat gets it again."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(max_length=50, help_text="The endpoint, e.g. trade.execute.")
    key = models.CharField(max_length=100)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the request body.")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Empty while in progress.")
    response = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "scope", "key"], name="idempotent_request_unique_key"),
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"


class Event(models.Model):
    """One change the dashboard shows live, written in the same transaction as the change it reports
    (apps.core.events.publish). The id orders events; a browser reconnecting asks for those after its
    last id. Rows older than EVENT_RETENTION_HOURS are pruned."""

    type = models.CharField(max_length=20, db_index=True)
    ts = models.DateTimeField(default=timezone.now)
    data = models.JSONField(default=dict)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["ts"], name="core_event_ts")]

    def __str__(self) -> str:
        return f"{self.type} #{self.pk}"
