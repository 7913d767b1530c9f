from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.forms.models import construct_instance
from django.http import HttpRequest

from apps.core.admin import ReadOnlyAdmin
from apps.core.errors import ServiceValidationError
from apps.core.roles import Role, has_role
from apps.news.models import NewsItem, NewsSource
from apps.news.services import EDITABLE_FIELDS, news_source_update, news_source_validate


class NewsSourceAdminForm(forms.ModelForm):
    """Runs the service's rules, so the admin refuses what the API refuses, with its message."""

    class Meta:
        model = NewsSource
        fields = EDITABLE_FIELDS

    def clean(self) -> dict[str, Any]:
        cleaned_data = super().clean()
        if not self.errors:
            try:
                news_source_validate(construct_instance(self, NewsSource(pk=self.instance.pk)))
            except ServiceValidationError as exc:
                self.add_error(exc.field if exc.field in self.fields else None, exc.message)
        return cleaned_data


@admin.register(NewsSource)
class NewsSourceAdmin(admin.ModelAdmin):
    """Sources are configuration: admins add, change and delete them; the poller writes the rest."""

    form = NewsSourceAdminForm
    list_display = ("name", "enabled", "poll_interval_minutes", "last_fetched_at", "last_error", "feed_url")
    list_filter = ("enabled",)
    search_fields = ("name", "feed_url", "last_error")
    readonly_fields = ("last_fetched_at", "last_error", "etag", "last_modified", "created_at", "updated_at")
    actions = ("enable", "disable")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return has_role(request.user, Role.ADMIN)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return has_role(request.user, Role.ADMIN)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return has_role(request.user, Role.ADMIN)

    @admin.action(description="Enable the selected sources")
    def enable(self, request: HttpRequest, queryset: Any) -> None:
        self._set_enabled(queryset, enabled=True)

    @admin.action(description="Disable the selected sources")
    def disable(self, request: HttpRequest, queryset: Any) -> None:
        self._set_enabled(queryset, enabled=False)

    @staticmethod
    def _set_enabled(queryset: Any, *, enabled: bool) -> None:
        for source in queryset:
            news_source_update(source=source, changes={"enabled": enabled})


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
