"""Model config pages: every role reads usage; admins (who edit model configs) test the connection."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from apps.ai import selectors
from apps.ai.models import ModelConfig
from apps.ai.probe import model_config_test
from apps.ai.providers import DEFAULT_BASE_URLS, OUTPUT_MODE_TEXT, structured_output
from apps.core.roles import Role, role_required

USAGE_DAYS = 30


def _config(config_id: int) -> ModelConfig:
    config = selectors.model_config_get(config_id=config_id)
    if config is None:
        raise Http404("No such model config.")
    return config


@require_GET
def model_list(request: HttpRequest) -> HttpResponse:
    rows = [(config, selectors.ai_usage_today(model_config_id=config.pk)) for config in selectors.model_config_list()]
    return render(request, "ai/model_list.html", {"rows": rows})


@require_GET
def model_detail(request: HttpRequest, config_id: int) -> HttpResponse:
    config = _config(config_id)
    context = {
        "config": config,
        "base_url": config.base_url or DEFAULT_BASE_URLS.get(config.provider, ""),
        "structured_output": OUTPUT_MODE_TEXT[structured_output(config)],
        "today": selectors.ai_usage_today(model_config_id=config.pk),
        "days": selectors.model_usage_days(model_config_id=config.pk, days=USAGE_DAYS),
        "usage_days": USAGE_DAYS,
    }
    return render(request, "ai/model_detail.html", context)


@require_POST
@role_required(Role.ADMIN)
def model_test(request: HttpRequest, config_id: int) -> HttpResponse:
    config = _config(config_id)
    result = model_config_test(config=config)
    # Without htmx the form posts normally: the same result, on a page of its own.
    template = "ai/_test_result.html" if request.htmx else "ai/test_result_page.html"
    return render(request, template, {"config": config, "result": result})
