from __future__ import annotations

from django.contrib import admin

from apps.core.admin import ReadOnlyAdmin
from apps.signals.models import EvaluationCursor, Signal


@admin.register(Signal)
class SignalAdmin(ReadOnlyAdmin):
    list_display = (
        "candle_open_time",
        "strategy",
        "strategy_version",
        "market",
        "timeframe",
        "direction",
        "status",
        "created_at",
    )
    # The same filters as /signals/ and /api/v1/signals; the date filter is the time range.
    list_filter = (
        "strategy",
        "market",
        "timeframe",
        "direction",
        "status",
        ("candle_open_time", admin.DateFieldListFilter),
    )
    search_fields = ("strategy__name", "market__symbol")
    list_select_related = ("strategy", "market")
    ordering = ("-candle_open_time", "-id")
    # Spares each page view a second COUNT(*) over every signal.
    show_full_result_count = False


@admin.register(EvaluationCursor)
class EvaluationCursorAdmin(ReadOnlyAdmin):
    list_display = ("strategy", "strategy_version", "market", "timeframe", "cursor", "bars", "live_from", "updated_at")
    list_filter = ("timeframe", "strategy")
    list_select_related = ("strategy", "market")
