from __future__ import annotations

from django.db.models import QuerySet

from apps.ai.models import ModelConfig

ORDERINGS = ("name", "-name", "provider", "-provider", "created_at", "-created_at")


def model_config_list(
    *, provider: str | None = None, search: str | None = None, ordering: str = "name"
) -> QuerySet[ModelConfig]:
    configs = ModelConfig.objects.select_related("api_key")
    if provider:
        configs = configs.filter(provider=provider)
    if search:
        configs = configs.filter(name__icontains=search) | configs.filter(model__icontains=search)
    return configs.order_by(ordering if ordering in ORDERINGS else "name")
