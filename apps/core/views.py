"""The API keys page (each user their own keys; admins see and revoke every key) and the login lockout
answer (django-axes calls login_locked_out when a username and address have failed too often)."""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.core.api_keys import api_key_create, api_key_list, api_key_revoke, can_revoke
from apps.core.errors import ServiceValidationError
from apps.core.forms import ApiKeyForm
from apps.core.models import ApiKey
from apps.core.roles import Role, has_role


def _list_context(request: HttpRequest, form: ApiKeyForm) -> dict[str, Any]:
    now = timezone.now()
    rows = [(api_key, api_key.status(now)) for api_key in api_key_list(user=request.user)]
    return {"rows": rows, "form": form, "show_owner": has_role(request.user, Role.ADMIN)}


@require_GET
def api_key_page(request: HttpRequest) -> HttpResponse:
    return render(request, "core/api_key_list.html", _list_context(request, ApiKeyForm(user=request.user)))


@never_cache
@require_POST
def api_key_new(request: HttpRequest) -> HttpResponse:
    """The one answer that carries the clear key: rendered (not redirected, so the key is in no URL or
    session) and never cached."""
    form = ApiKeyForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            created = api_key_create(user=request.user, **form.cleaned_data)
        except ServiceValidationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            context = _list_context(request, ApiKeyForm(user=request.user)) | {"created": created}
            return render(request, "core/api_key_list.html", context, status=201)
    return render(request, "core/api_key_list.html", _list_context(request, form), status=422)


@require_http_methods(["GET", "POST"])
def api_key_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation; only a POST carrying `confirm=yes` revokes."""
    api_key = get_object_or_404(ApiKey.objects.select_related("user"), pk=pk)
    if not can_revoke(user=request.user, api_key=api_key):
        raise Http404("No such API key.")  # another user's key is not shown to exist
    if request.method == "POST" and request.POST.get("confirm") == "yes":
        api_key_revoke(api_key=api_key, by=request.user)
        return redirect("api_keys")
    return render(request, "core/api_key_revoke_confirm.html", {"key": api_key})


def login_locked_out(request: HttpRequest, original_response: HttpResponse | None, credentials: Any) -> HttpResponse:
    """Too many failed logins for this username from this address: say until when, as a 429 with Retry-After."""
    cooloff = settings.AXES_COOLOFF_TIME
    context = {"retry_at": timezone.now() + cooloff, "minutes": math.ceil(cooloff.total_seconds() / 60)}
    response = render(request, "core/lockout.html", context, status=429)
    response["Retry-After"] = str(math.ceil(cooloff.total_seconds()))
    return response
