from __future__ import annotations

from django.db import models
from simple_history.models import HistoricalRecords


class Secret(models.Model):
    """One encrypted value (an API key, a secret, a passphrase). Write-only by design.

    Other models point at it with a OneToOneField. The clear value is only ever produced by
    apps.secrets.services.secret_reveal.
    """

    label = models.CharField(max_length=200, help_text="What this secret is for, e.g. 'Binance main: API key'.")
    ciphertext = models.TextField(editable=False)
    fingerprint = models.CharField(max_length=16, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # The history shows who replaced a value and when (the fingerprint changes), never the value.
    history = HistoricalRecords(excluded_fields=["ciphertext"])

    class Meta:
        ordering = ["label"]

    def __str__(self) -> str:
        return f"{self.label} (fingerprint {self.fingerprint})"

    def __repr__(self) -> str:
        return f"<Secret {self.pk} {self.label!r} fingerprint={self.fingerprint}>"
