from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from apps.core.admin import ReadOnlyAdmin
from apps.core.errors import ServiceValidationError
from apps.core.roles import Role, has_role
from apps.news.models import NewsItem, NewsSource
from apps.news.services import news_source_update, news_source_validate
from apps.secrets.admin_forms import WriteOnlySecretsAdminMixin


@admin.register(NewsSource)
class NewsSourceAdmin(WriteOnlySecretsAdminMixin, SimpleHistoryAdmin):
    """Sources are configuration: admins add, change and delete them; the poller writes the rest.
    The form runs the service's rules, so the admin refuses what the API refuses, with its message
    (an X source while NEWS_X_ENABLED is off, a missing query or token); the bearer token is write-only."""

    secret_fields = NewsSource.SECRET_FIELDS
    validate = staticmethod(news_source_validate)
    list_display = ("name", "kind", "enabled", "poll_interval_minutes", "last_fetched_at", "last_error", "target")
    list_filter = ("kind", "enabled")
    search_fields = ("name", "feed_url", "query", "last_error")
    readonly_fields = (
        "last_fetched_at",
        "last_error",
        "etag",
        "last_modified",
        "since_id",
        "rate_limited_until",
        "created_at",
        "updated_at",
    )
    actions = ("enable", "disable")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return has_role(request.user, Role.ADMIN)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return has_role(request.user, Role.ADMIN)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return has_role(request.user, Role.ADMIN)

    def save_model(self, request: HttpRequest, obj: NewsSource, form: Any, change: bool) -> None:
        if change and {"feed_url", "query"} & set(form.changed_data):
            obj.forget_answers()
        super().save_model(request, obj, form, change)

    @admin.display(description="feed URL or X query")
    def target(self, obj: NewsSource) -> str:
        return obj.query if obj.kind == NewsSource.Kind.X_RECENT_SEARCH else obj.feed_url

    @admin.action(description="Enable the selected sources")
    def enable(self, request: HttpRequest, queryset: Any) -> None:
        self._set_enabled(request, queryset, enabled=True)

    @admin.action(description="Disable the selected sources")
    def disable(self, request: HttpRequest, queryset: Any) -> None:
        self._set_enabled(request, queryset, enabled=False)

    def _set_enabled(self, request: HttpRequest, queryset: Any, *, enabled: bool) -> None:
        for source in queryset:
            try:
                news_source_update(source=source, changes={"enabled": enabled})
            except ServiceValidationError as exc:
                self.message_user(request, f"{source.name}: {exc}", level=messages.ERROR)


@admin.register(NewsItem)
class NewsItemAdmin(ReadOnlyAdmin):
    list_display = ("published_at", "title", "source", "assets_shown", "fetched_at")
    list_filter = ("source", "mentions__asset", ("published_at", admin.DateFieldListFilter))
    search_fields = ("title", "summary", "url", "guid")
    list_select_related = ("source",)
    ordering = ("-published_at", "-id")
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).prefetch_related("mentions")

    @admin.display(description="assets")
    def assets_shown(self, obj: NewsItem) -> str:
        return " ".join(obj.assets) or "—"
