from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from apps.core import selectors


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "core/home.html", {"overview": selectors.overview()})
