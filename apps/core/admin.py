from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.core import numbers
from apps.core.api_keys import api_key_revoke
from apps.core.models import ApiKey
from apps.core.roles import Role, has_role


class ReadOnlyAdmin(admin.ModelAdmin):
    """For rows that only commands and workers write (candles, imports, signals, feeds): the
    admin shows and filters them, and nobody edits them by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def number_column(field: str, kind: str, *, market: str = "market", description: str = "") -> Callable[[Any], Any]:
    """A list_display column showing a stored number as people read it (apps.core.numbers.shown): a
    price at its market's tick, an amount at its step, money or an indicator at two decimals, or plain.
    `market` is the dotted path from the row to its market ("plan.market"), read for prices and amounts.
    """
    if kind not in numbers.KINDS:
        raise ValueError(f"number_column kind must be one of {', '.join(numbers.KINDS)}, got {kind!r}")
    read_market = attrgetter(market) if kind in numbers.INCREMENT_FIELDS else lambda _obj: None

    @admin.display(description=description or field.replace("_", " "), ordering=field)
    def column(obj: Any) -> str | None:
        value = getattr(obj, field)
        return None if value is None else numbers.shown(value, kind, read_market(obj))  # None: the admin's dash

    column.__name__ = f"{field}_shown"
    return column


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    """Keys are created on the API keys page (the only place the clear key is shown); here admins find
    them and revoke them. The stored hash is not shown."""

    list_display = (
        "prefix",
        "name",
        "user",
        "scope",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
        "last_used_ip",
    )
    list_filter = ("scope", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "prefix", "user__username", "last_used_ip")
    exclude = ("key_hash",)
    actions = ("revoke",)

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return has_role(request.user, Role.ADMIN)

    @admin.action(description="Revoke the selected API keys", permissions=("revoke",))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        keys = list(queryset.filter(revoked_at__isnull=True))
        for api_key in keys:
            api_key_revoke(api_key=api_key, by=request.user)
        self.message_user(request, f"Revoked {len(keys)} API key(s).")
