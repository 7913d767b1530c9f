from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from apps.traders.models import Alert


def alert_acknowledge(*, alert: Alert, user: AbstractBaseUser) -> Alert:
    """Mark the alert seen. A conditional update: of two operators acknowledging at once, the
    first one's name and time are kept."""
    Alert.objects.filter(pk=alert.pk, acknowledged_at__isnull=True).update(
        acknowledged_at=timezone.now(), acknowledged_by=user
    )
    alert.refresh_from_db()
    return alert
