from __future__ import annotations

import copy
from typing import Any

from django import forms
from django.contrib import admin
from django.forms.models import construct_instance
from simple_history.admin import SimpleHistoryAdmin

from apps.core.admin import ReadOnlyAdmin, number_column
from apps.core.errors import ServiceValidationError
from apps.market.models import Candle, CandleImport, Market, MarketFeed
from apps.market.services import EDITABLE_FIELDS, market_validate


class MarketAdminForm(forms.ModelForm):
    """Runs the service's rules, so the admin refuses what the API refuses, with its message."""

    class Meta:
        model = Market
        fields = EDITABLE_FIELDS

    def clean(self) -> dict[str, Any]:
        cleaned_data = super().clean()
        if not self.errors:
            try:
                market_validate(construct_instance(self, copy.copy(self.instance)))
            except ServiceValidationError as exc:
                self.add_error(exc.field if exc.field in self.fields else None, exc.message)
        return cleaned_data

    def _post_clean(self) -> None:
        # Once the service's reason is shown, the model's own checks would only repeat it as
        # a generic "Constraint ... is violated".
        if not self.errors:
            super()._post_clean()


@admin.register(Market)
class MarketAdmin(SimpleHistoryAdmin):
    form = MarketAdminForm
    list_display = (
        "symbol",
        "exchange",
        "type",
        number_column("price_precision", "plain", description="tick"),
        number_column("amount_precision", "plain", description="step"),
        number_column("min_amount", "plain"),
        number_column("min_notional", "money"),
        "active",
        "updated_at",
    )
    list_filter = ("exchange", "type", "active")
    search_fields = ("symbol", "base", "quote")
    ordering = ("exchange", "symbol")


@admin.register(Candle)
class CandleAdmin(ReadOnlyAdmin):
    list_display = (
        "market",
        "timeframe",
        "open_time",
        *(number_column(field, "price") for field in ("open", "high", "low", "close")),
        number_column("volume", "amount"),
    )
    list_filter = ("market__exchange", "timeframe", "market")
    search_fields = ("market__symbol",)
    list_select_related = ("market",)
    # Spares each page view a second COUNT(*) over every candle of every market.
    show_full_result_count = False


@admin.register(CandleImport)
class CandleImportAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "market",
        "timeframe",
        "format",
        "rows",
        "first_open_time",
        "last_open_time",
        "gap_count",
        "synthetic",
        "created_by",
    )
    list_filter = ("synthetic", "timeframe", "format", "market")
    search_fields = ("market__symbol", "source")
    list_select_related = ("market", "created_by")


@admin.register(MarketFeed)
class MarketFeedAdmin(ReadOnlyAdmin):
    list_display = ("market", "timeframe", "source", "horizon", "state", "state_reason", "state_since")
    list_filter = ("source", "state", "timeframe")
    list_select_related = ("market",)
