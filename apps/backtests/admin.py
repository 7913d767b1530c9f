"""Backtest runs in the admin: a read-only record (runs come from `manage.py backtest` or the
strategy pages); admins may delete a row, which leaves its files on disk."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from apps.backtests.metrics import format_metric
from apps.backtests.models import BacktestRun


@admin.register(BacktestRun)
class BacktestRunAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "strategy_name",
        "strategy_source",
        "symbol",
        "exchange",
        "timeframe",
        "status",
        "progress",
        "period_start",
        "period_end",
        "return_shown",
        "sharpe_shown",
        "drawdown_shown",
        "trade_count",
        "created_by",
        "created_at",
    )
    list_filter = ("status", "strategy_source", "timeframe", "exchange", "created_at")
    search_fields = ("strategy_name", "symbol")
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-id")
    list_select_related = ("created_by",)

    # The list reads the metrics as the backtest pages do ("12.34 %"), not as stored floats.
    @admin.display(description="return", ordering="total_return")
    def return_shown(self, run: BacktestRun) -> str:
        return format_metric("total_return", run.total_return)

    @admin.display(description="sharpe", ordering="sharpe")
    def sharpe_shown(self, run: BacktestRun) -> str:
        return format_metric("sharpe", run.sharpe)

    @admin.display(description="max drawdown", ordering="max_drawdown")
    def drawdown_shown(self, run: BacktestRun) -> str:
        return format_metric("max_drawdown", run.max_drawdown)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in self.model._meta.fields] + ["page"]

    @admin.display(description="Page")
    def page(self, obj: BacktestRun) -> str:
        url = reverse("backtests:detail", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, url)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Viewing stays allowed (view permission); nothing on a run is editable.
        return False
