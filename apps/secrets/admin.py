from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from apps.secrets.models import Secret


@admin.register(Secret)
class SecretAdmin(SimpleHistoryAdmin):
    """Read-only inventory: which secrets exist, their fingerprints and when they changed.

    Values are set and replaced on the owning account or model config.
    """

    list_display = ("label", "fingerprint", "updated_at", "created_at")
    search_fields = ("label", "fingerprint")
    fields = ("label", "fingerprint", "created_at", "updated_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Secret | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Secret | None = None) -> bool:
        return False
