from __future__ import annotations

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from apps.ai.models import ModelConfig
from apps.ai.services import model_config_validate
from apps.secrets.admin_forms import WriteOnlySecretsAdminMixin


@admin.register(ModelConfig)
class ModelConfigAdmin(WriteOnlySecretsAdminMixin, SimpleHistoryAdmin):
    secret_fields = ModelConfig.SECRET_FIELDS
    validate = staticmethod(model_config_validate)
    list_display = ("name", "provider", "model", "fallback", "daily_token_budget", "credentials", "updated_at")
    list_filter = ("provider",)
    search_fields = ("name", "model")
    ordering = ("name",)
