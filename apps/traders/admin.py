"""Risk profiles and traders in the admin, with their change history. The forms run the services'
validation (errors shown on the form, naming the field) and saves and deletes go through the
services. Risk states, the kill switch and halt events are read-only here: they change through
the /risk/ page, the API and the workers, which record who and why. So are trade plans, their
executions, events and alerts: the trade services and the workers write them."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from apps.core.admin import ReadOnlyAdmin, number_column
from apps.core.errors import ServiceValidationError
from apps.core.pending import pending_of
from apps.secrets.admin_forms import WriteOnlySecretsAdminMixin
from apps.traders import services
from apps.traders.forms import PromptTemplateAdminForm, RiskProfileAdminForm, TraderAdminForm, listed_markets
from apps.traders.models import (
    Alert,
    AlertChannel,
    AlertDelivery,
    AlertRule,
    ChangeRequest,
    Execution,
    HaltEvent,
    KillSwitch,
    PlanEvent,
    PromptTemplate,
    RiskProfile,
    TradePlan,
    Trader,
    TraderRiskState,
)
from apps.traders.services import prompts
from apps.traders.services.four_eyes import waiting_message
from apps.traders.services.notify import alert_channel_clean


class _ServiceSavedAdmin(SimpleHistoryAdmin):
    def _create(self, values: dict[str, Any], user: Any) -> Any:
        raise NotImplementedError

    def _update(self, obj: Any, values: dict[str, Any], user: Any) -> Any:
        raise NotImplementedError

    def _delete(self, obj: Any) -> None:
        raise NotImplementedError

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        values = {field: form.cleaned_data[field] for field in form.editable_fields if field in form.cleaned_data}
        # On change every field goes to the service, not only changed_data: a revert from the history
        # view starts from the old version, so its changed_data is relative to that.
        saved = self._update(obj, values, request.user) if change else self._create(values, request.user)
        obj.pk = saved.pk
        obj.refresh_from_db()
        waiting = pending_of(saved)
        if waiting:
            # The admin's own "changed successfully" follows; this says what did not change yet.
            self.message_user(request, waiting_message(waiting), messages.WARNING)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        try:
            self._delete(obj)
        except ServiceValidationError as exc:
            self.message_user(request, f"{obj}: {exc.message}", messages.ERROR)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(RiskProfile)
class RiskProfileAdmin(_ServiceSavedAdmin):
    form = RiskProfileAdminForm
    list_display = (
        "name",
        "max_leverage",
        number_column("max_order_notional", "money"),
        number_column("max_total_notional", "money"),
        number_column("risk_per_trade", "plain"),
        number_column("daily_loss_limit", "plain"),
        number_column("max_drawdown", "plain"),
        "updated_at",
    )
    list_filter = ("require_stop_loss", "reset_daily_halt_next_day")
    search_fields = ("name",)
    ordering = ("name",)

    def _create(self, values: dict[str, Any], user: Any) -> RiskProfile:
        return services.risk_profile_create(**values)

    def _update(self, obj: RiskProfile, values: dict[str, Any], user: Any) -> RiskProfile:
        return services.risk_profile_update(profile=obj, changes=values, user=user)

    def _delete(self, obj: RiskProfile) -> None:
        services.risk_profile_delete(profile=obj)


@admin.register(Trader)
class TraderAdmin(_ServiceSavedAdmin):
    form = TraderAdminForm
    list_display = (
        "name",
        "account",
        "status",
        "decision_mode",
        "strategy",
        "market_symbols",
        "risk_profile",
        "live",
        "updated_at",
    )
    list_filter = ("status", "decision_mode", "strategy", "live", "account__mode", "account", "risk_profile")
    list_select_related = ("account", "risk_profile", "strategy")
    search_fields = ("name", "account__name", "strategy__name", "markets__symbol", "status_reason")
    ordering = ("name",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Trader]:
        return super().get_queryset(request).prefetch_related("markets")

    @admin.display(description="markets")
    def market_symbols(self, obj: Trader) -> str:
        return ", ".join(sorted(market.symbol for market in obj.markets.all())) or "—"

    def _create(self, values: dict[str, Any], user: Any) -> Trader:
        return services.trader_create(**listed_markets(values), user=user)

    def _update(self, obj: Trader, values: dict[str, Any], user: Any) -> Trader:
        return services.trader_update(trader=obj, changes=listed_markets(values), user=user)

    def _delete(self, obj: Trader) -> None:
        services.trader_delete(trader=obj)


@admin.register(PromptTemplate)
class PromptTemplateAdmin(_ServiceSavedAdmin):
    """Templates of AI traders; an edit of the system or user text is a new version (see the history)."""

    form = PromptTemplateAdminForm
    list_display = ("name", "version", "max_prompt_tokens", "updated_at")
    search_fields = ("name", "description")
    readonly_fields = ("version",)
    ordering = ("name",)

    def _create(self, values: dict[str, Any], user: Any) -> PromptTemplate:
        return prompts.prompt_template_create(**values)

    def _update(self, obj: PromptTemplate, values: dict[str, Any], user: Any) -> PromptTemplate:
        return prompts.prompt_template_update(template=obj, changes=values, user=user)

    def _delete(self, obj: PromptTemplate) -> None:
        prompts.prompt_template_delete(template=obj)


@admin.register(TraderRiskState)
class TraderRiskStateAdmin(ReadOnlyAdmin):
    list_display = (
        "trader",
        "halt",
        "halted_at",
        *(number_column(field, "money") for field in ("last_equity", "day_start_equity", "peak_equity")),
        "day",
    )
    list_filter = ("halt",)
    list_select_related = ("trader",)
    search_fields = ("trader__name", "halt_reason")


@admin.register(KillSwitch)
class KillSwitchAdmin(ReadOnlyAdmin, SimpleHistoryAdmin):
    list_display = ("__str__", "reason", "changed_by", "changed_at")


@admin.register(HaltEvent)
class HaltEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "trader", "action", "kind", "actor", "reason")
    list_filter = ("action", "kind")
    list_select_related = ("trader", "actor")
    search_fields = ("trader__name", "reason")
    date_hierarchy = "at"


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


@admin.register(AlertDelivery)
class AlertDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "alert", "channel_name", "status", "attempts", "last_error", "sent_at")
    list_filter = ("status", "channel_name")
    list_select_related = ("alert",)


@admin.register(AlertRule)
class AlertRuleAdmin(ReadOnlyAdmin, SimpleHistoryAdmin):
    """Changed on the /alerts/rules/ page (admins), which checks each kind's threshold."""

    list_display = ("kind", "enabled", "level", "cooldown_minutes", "threshold", "updated_at")


@admin.register(AlertChannel)
class AlertChannelAdmin(WriteOnlySecretsAdminMixin, SimpleHistoryAdmin):
    secret_fields = AlertChannel.SECRET_FIELDS
    validate = staticmethod(alert_channel_clean)
    list_display = ("name", "enabled", "min_level", "kinds", "credentials", "updated_at")
    list_filter = ("enabled", "min_level")
    search_fields = ("name",)


@admin.register(ChangeRequest)
class ChangeRequestAdmin(ReadOnlyAdmin, SimpleHistoryAdmin):
    """Decided on /approvals/ (a second admin, never the requester); read-only here, so no admin form can
    mark a request approved without applying it through the services."""

    list_display = ("id", "created_at", "kind", "target_name", "requested_by", "status", "decided_by", "decided_at")
    list_filter = ("status", "kind")
    list_select_related = ("requested_by", "decided_by")
    search_fields = ("target_name", "note", "reason", "result")
