from __future__ import annotations

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from apps.exchanges.models import ExchangeAccount
from apps.exchanges.services import exchange_account_clean
from apps.secrets.admin_forms import WriteOnlySecretsAdminMixin


@admin.register(ExchangeAccount)
class ExchangeAccountAdmin(WriteOnlySecretsAdminMixin, SimpleHistoryAdmin):
    secret_fields = ExchangeAccount.SECRET_FIELDS
    validate = staticmethod(exchange_account_clean)
    list_display = (
        "name",
        "exchange",
        "mode",
        "price_source",
        "default_leverage",
        "margin_mode",
        "credentials",
        "updated_at",
    )
    list_filter = ("exchange", "mode", "price_source", "margin_mode")
    search_fields = ("name",)
    ordering = ("name",)
