"""What operations scrape and probe (README "Metrics and health"): /metrics for Prometheus, behind a bearer
token, and the web's liveness and readiness. None of them needs a login, none is throttled, and none says
more than which dependency failed (no host names, no error text: they answer anyone who can reach them)."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from apps.core import prometheus
from apps.core.health import readiness


def _bearer_token(request: HttpRequest) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


@login_not_required
@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    expected = settings.METRICS_TOKEN
    if not expected:
        return HttpResponse(
            "Metrics are off: set METRICS_TOKEN to turn /metrics on.\n", status=404, content_type="text/plain"
        )
    # Constant time: how much of a guess matched must not show in the answer's timing.
    if not hmac.compare_digest(_bearer_token(request).encode(), expected.encode()):
        reason = "Send the metrics token as 'Authorization: Bearer <METRICS_TOKEN>'.\n"
        response = HttpResponse(reason, status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(prometheus.scrape(), content_type=prometheus.CONTENT_TYPE)


@login_not_required
@never_cache
@require_GET
def health_live(request: HttpRequest) -> JsonResponse:
    """The process answers requests; it checks nothing else, so a database outage never restarts it."""
    return JsonResponse({"status": "ok"})


@login_not_required
@never_cache
@require_GET
def health_ready(request: HttpRequest) -> JsonResponse:
    """Ready for traffic: the database answers, and Redis too when REDIS_URL is set. 503 names what failed."""
    checks = readiness()
    ready = all(result == "ok" for result in checks.values())
    return JsonResponse({"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503)
