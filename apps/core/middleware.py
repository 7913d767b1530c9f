from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequiredMiddleware
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from apps.core.roles import NO_ROLE_MESSAGE, user_role

API_PREFIX = "/api/"
ADMIN_PREFIX = "/admin/"
# Probes and Prometheus answer whoever asks (a logged-in user without a role too): /metrics checks its token.
ROLELESS_ALLOWED = frozenset({"login", "logout", "favicon", "metrics", "health_live", "health_ready"})


class LoginRequiredMiddleware(DjangoLoginRequiredMiddleware):
    """Every page needs a login and a role (viewer at least).

    The API answers 401/403 itself (tradeops.api's auth) instead of redirecting a script to an
    HTML form, and the admin site checks its own model permissions.
    """

    def process_view(
        self, request: HttpRequest, view_func: Callable, view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        if request.path.startswith((API_PREFIX, ADMIN_PREFIX)):
            return None
        redirect = super().process_view(request, view_func, view_args, view_kwargs)
        if redirect is not None:
            return redirect
        match = request.resolver_match
        exempt = match is not None and match.url_name in ROLELESS_ALLOWED
        if request.user.is_authenticated and not exempt and user_role(request.user) is None:
            raise PermissionDenied(NO_ROLE_MESSAGE)
        return None
