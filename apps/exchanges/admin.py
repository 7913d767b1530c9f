from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.forms import ModelForm
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from apps.core.pending import pending_of
from apps.exchanges.models import ExchangeAccount
from apps.exchanges.services import (
    EDITABLE_FIELDS,
    exchange_account_clean,
    exchange_account_create,
    exchange_account_update,
)
from apps.secrets.admin_forms import WriteOnlySecretsAdminMixin, secret_values


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

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> None:
        """Through the services, like the API: going live waits for a second admin (four-eyes)."""
        values = {field: form.cleaned_data[field] for field in EDITABLE_FIELDS if field in form.cleaned_data}
        secrets = secret_values(form, self.secret_fields)
        if change:
            saved = exchange_account_update(account=obj, changes=values, secrets=secrets, user=request.user)
        else:
            saved = exchange_account_create(**values, secrets=secrets, user=request.user)
        obj.pk = saved.pk
        obj.refresh_from_db()
        for waiting in pending_of(saved):
            self.message_user(
                request,
                f"{saved.name} stays {obj.mode}: going live waits for a second admin (change request #{waiting.pk} "
                "on /approvals/).",
                messages.WARNING,
            )
