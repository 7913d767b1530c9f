from __future__ import annotations

from django.contrib import admin

from apps.audit.models import DecisionLog
from apps.core.admin import ReadOnlyAdmin, number_column


@admin.register(DecisionLog)
class DecisionLogAdmin(ReadOnlyAdmin):
    """Written by the workers' cycles only: shown and searched, never edited."""

    list_display = (
        "candle_open_time",
        "trader",
        "market",
        "timeframe",
        "mode",
        "action",
        "outcome",
        "reason",
        number_column("realised_pnl", "money", description="realised PnL"),
        "latency_ms",
    )
    list_filter = ("outcome", "mode", "trader", "action", ("candle_open_time", admin.DateFieldListFilter))
    search_fields = ("trader__name", "market__symbol", "reason")
    list_select_related = ("trader", "market")
    ordering = ("-candle_open_time", "-id")
    show_full_result_count = False
