"""Strategies in the admin: the spec edited as JSON and checked on the form; saves and deletes
go through apps.strategies.services, so the version and history rules are the same as on the
pages and the API (a revert from the history view included)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from apps.strategies import services
from apps.strategies.forms import StrategyAdminForm
from apps.strategies.models import Strategy


@admin.register(Strategy)
class StrategyAdmin(SimpleHistoryAdmin):
    form = StrategyAdminForm
    list_display = ("name", "version", "enabled", "timeframe", "markets", "cooldown_bars", "updated_at")
    list_filter = ("enabled",)
    search_fields = ("name", "description")
    ordering = ("name",)
    readonly_fields = ("version", "cooldown_bars", "created_at", "updated_at")
    fields = ("name", "description", "spec", "enabled", *readonly_fields)
    history_list_display = ("version", "enabled")

    @admin.display(description="Timeframe")
    def timeframe(self, obj: Strategy) -> str:
        return obj.spec.get("timeframe", "—") if isinstance(obj.spec, dict) else "—"

    @admin.display(description="Markets")
    def markets(self, obj: Strategy) -> str:
        return ", ".join(obj.spec.get("markets", [])) if isinstance(obj.spec, dict) else "—"

    def save_model(self, request: HttpRequest, obj: Strategy, form: Any, change: bool) -> None:
        values = {field: form.cleaned_data[field] for field in services.EDITABLE_FIELDS}
        # On change, every field goes to the service, not only form.changed_data: a revert from
        # the history view starts from the old version, so its changed_data is relative to that.
        saved = services.strategy_update(strategy=obj, changes=values) if change else services.strategy_create(**values)
        # The admin goes on with `obj` (messages, log entry, redirect): give it the saved row.
        obj.pk = saved.pk
        obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: Strategy) -> None:
        services.strategy_delete(strategy=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Strategy]) -> None:
        for strategy in queryset:
            services.strategy_delete(strategy=strategy)
