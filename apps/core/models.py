"""Core's tables: the idempotency records of API requests, the event log the dashboard follows and API keys.
(Core also syncs role permissions on post_migrate, which Django sends only to apps with a models module.)"""

from __future__ import annotations

from datetime import datetime

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


class ApiKey(models.Model):
    """A user's key for the REST API (`Authorization: Bearer <key>`), see apps.core.api_keys.

    Only a SHA-256 of the key is stored: the key is 256 random bits, so a fast hash cannot be
    reversed by guessing, and checking it costs microseconds per request (a password hasher would
    cost a tenth of a second). The prefix is shown to tell keys apart and finds the row.
    """

    class Scope(models.TextChoices):
        # Each scope is one role's reach: read = viewer, trade = operator, admin = admin.
        READ = "read", "read (viewer)"
        TRADE = "trade", "trade (operator)"
        ADMIN = "admin", "admin"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, help_text="What the key is for, e.g. the script that uses it.")
    prefix = models.CharField(
        max_length=16, unique=True, help_text="The key's first characters, shown to tell keys apart."
    )
    key_hash = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the whole key (hex).")
    scope = models.CharField(max_length=10, choices=Scope.choices)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True, verbose_name="last used from")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API key"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(scope__in=["read", "trade", "admin"]), name="api_key_scope_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("created_at")), name="api_key_expires_later"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"

    def status(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        return "active"
