from __future__ import annotations

from typing import Any

from django.test import Client

# Alerts move with the money-moving path; the dashboard tests create them here only.
from apps.traders.models import Alert


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def alert(level: str, message: str, **fields: Any) -> Alert:
    kind = {"critical": "protection_failed", "warning": "position_drift"}.get(level, "orphan_cancelled")
    return Alert.objects.create(level=level, kind=kind, message=message, **fields)
