"""Admin support for write-only secrets: a password box that never shows the stored value."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.text import capfirst

from apps.core.errors import ServiceValidationError
from apps.secrets.services import UNCHANGED, SecretInput, secret_fields_save, secret_status

CLEAR_SUFFIX = "_clear"


def _status_text(secret: Any) -> str:
    status = secret_status(secret)
    if not status.is_set:
        return "Not set."
    return f"Set (fingerprint {status.fingerprint}, changed {status.updated_at:%Y-%m-%d %H:%M} UTC)."


def secret_values(form: forms.BaseForm, fields: tuple[str, ...]) -> dict[str, SecretInput]:
    values: dict[str, SecretInput] = {}
    for field in fields:
        if form.cleaned_data.get(f"{field}{CLEAR_SUFFIX}"):
            values[field] = None
        else:
            values[field] = form.cleaned_data.get(field) or UNCHANGED
    return values


def _post_clean_with(validate: Callable[[Any, dict[str, SecretInput]], None], fields: tuple[str, ...]) -> Callable:
    def _post_clean(form: forms.ModelForm) -> None:
        super(type(form), form)._post_clean()
        if form.errors:
            return
        try:
            validate(form.instance, secret_values(form, fields))
        except ServiceValidationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)

    return _post_clean


class WriteOnlySecretsAdminMixin:
    """For a ModelAdmin whose model has OneToOneFields to Secret (listed in `secret_fields`).

    The form shows a blank password box per secret (blank keeps the stored value) and a
    "remove" checkbox. The model's service rules run as form validation, so a rule that fails
    is shown on the form and nothing is saved.
    """

    secret_fields: tuple[str, ...] = ()

    @staticmethod
    def validate(instance: Any, secrets: dict[str, SecretInput]) -> None:
        """The model's service-level rules; raise ServiceValidationError."""
        raise NotImplementedError

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [*(super().get_exclude(request, obj) or ()), *self.secret_fields]  # type: ignore[misc]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> type:
        # The admin passes the fieldsets' names as `fields`; the secret boxes are form-only fields.
        # Callers that pass none (django-simple-history's version view) would make ModelAdmin
        # read the same names from get_fieldsets, so filter those too.
        if "fields" not in kwargs:
            kwargs["fields"] = flatten_fieldsets(self.get_fieldsets(request, obj))
        if kwargs["fields"]:
            kwargs["fields"] = [name for name in kwargs["fields"] if not self._is_secret_form_field(name)]
        base = super().get_form(request, obj, change=change, **kwargs)  # type: ignore[misc]
        extra: dict[str, forms.Field] = {}
        for field in self.secret_fields:
            current = getattr(obj, field, None)
            extra[field] = forms.CharField(
                label=capfirst(self.model._meta.get_field(field).verbose_name),
                required=False,
                strip=True,
                widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
                help_text=f"{_status_text(current)} Leave blank to keep it. "
                "A stored value can be replaced, never read back.",
            )
            if current is not None:
                extra[f"{field}{CLEAR_SUFFIX}"] = forms.BooleanField(required=False, label=f"Remove the stored {field}")
        extra["_post_clean"] = _post_clean_with(self.validate, self.secret_fields)
        return type(f"{base.__name__}WithSecrets", (base,), extra)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> list:
        fieldsets = super().get_fieldsets(request, obj)  # type: ignore[misc]
        plain = [name for name in fieldsets[0][1]["fields"] if not self._is_secret_form_field(name)]
        secret_names: list[str] = []
        for field in self.secret_fields:
            secret_names.append(field)
            if getattr(obj, f"{field}_id", None) is not None:
                secret_names.append(f"{field}{CLEAR_SUFFIX}")
        return [(None, {"fields": plain}), ("Credentials (write-only)", {"fields": secret_names})]

    def _is_secret_form_field(self, name: str) -> bool:
        return name.removesuffix(CLEAR_SUFFIX) in self.secret_fields

    def save_model(self, request: HttpRequest, obj: Any, form: forms.ModelForm, change: bool) -> None:
        secret_fields_save(instance=obj, values=secret_values(form, self.secret_fields))

    @admin.display(description="Credentials")
    def credentials(self, obj: Any) -> str:
        parts = [f"{field}: {'set' if getattr(obj, f'{field}_id') else '—'}" for field in self.secret_fields]
        return format_html("{}", ", ".join(parts))
