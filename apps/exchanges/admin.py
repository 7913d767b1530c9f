from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from apps.core.admin import ReadOnlyAdmin, number_column
from apps.exchanges.models import Alert, ExchangeAccount, Execution, PlanEvent, TradePlan
from apps.exchanges.services import exchange_account_validate
from apps.secrets.admin_forms import WriteOnlySecretsAdminMixin


@admin.register(ExchangeAccount)
class ExchangeAccountAdmin(WriteOnlySecretsAdminMixin, SimpleHistoryAdmin):
    secret_fields = ExchangeAccount.SECRET_FIELDS
    validate = staticmethod(exchange_account_validate)
    list_display = ("name", "exchange", "mode", "default_leverage", "margin_mode", "credentials", "updated_at")
    list_filter = ("exchange", "mode", "margin_mode")
    search_fields = ("name",)
    ordering = ("name",)


# --- trade plans: written by the services and the workers only; the admin shows and filters them ---


class ExecutionInline(admin.TabularInline):
    model = Execution
    extra = 0
    can_delete = False
    show_change_link = True
    fields = (
        "client_order_id",
        "leg",
        "attempt",
        "side",
        "order_type",
        "status",
        "amount",
        "filled",
        "average_price",
        "trigger_price",
        "exchange_order_id",
        "fee",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PlanEventInline(admin.TabularInline):
    model = PlanEvent
    extra = 0
    can_delete = False
    fields = ("at", "from_status", "to_status", "reason", "exchange_ref", "actor")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(TradePlan)
class TradePlanAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "created_at",
        "trader",
        "account",
        "market",
        "side",
        number_column("quantity", "amount"),
        "status",
        "live",
        "source",
        "created_by",
    )
    list_filter = ("status", "account", "source", "live", "side")
    list_select_related = ("trader", "account", "market", "created_by")
    search_fields = ("market__symbol", "reason", "status_reason", "executions__client_order_id")
    date_hierarchy = "created_at"
    inlines = (ExecutionInline, PlanEventInline)


@admin.register(Execution)
class ExecutionAdmin(ReadOnlyAdmin):
    list_display = (
        "client_order_id",
        "plan",
        "leg",
        "attempt",
        "side",
        "status",
        number_column("amount", "amount", market="plan.market"),
        number_column("filled", "amount", market="plan.market"),
        number_column("average_price", "price", market="plan.market", description="avg. price"),
        number_column("fee", "money"),
        "created_at",
    )
    list_filter = ("leg", "status", "plan__account")
    list_select_related = ("plan__market",)
    search_fields = ("client_order_id", "exchange_order_id", "plan__market__symbol")


@admin.register(PlanEvent)
class PlanEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "plan", "from_status", "to_status", "reason", "exchange_ref", "actor")
    list_filter = ("to_status",)
    list_select_related = ("plan__market", "actor")
    search_fields = ("reason", "exchange_ref", "plan__market__symbol", "execution__client_order_id")


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "level", "kind", "message", "account", "plan", "acknowledged_at", "acknowledged_by")
    list_filter = ("level", "kind", ("acknowledged_at", admin.EmptyFieldListFilter), "account")
    list_select_related = ("account", "plan__market", "acknowledged_by")
    search_fields = ("message", "plan__market__symbol", "plan__reason")
