"""A URLconf for one test: a view that reveals a secret and then fails with it in the message,
the way an exchange client error might."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from apps.secrets.models import Secret
from apps.secrets.services import secret_reveal


def reveal_then_fail(request: HttpRequest, pk: int) -> HttpResponse:
    value = secret_reveal(secret=Secret.objects.get(pk=pk), purpose="test")
    raise RuntimeError(f"exchange refused the key {value}")


urlpatterns = [path("boom/<int:pk>/", reveal_then_fail, name="boom")]
