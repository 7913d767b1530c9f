from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, QuerySet, Sum
from django.utils import timezone

from apps.ai.models import CachedAnswer, ModelCall, ModelConfig

COST_QUANTUM = Decimal("0.000001")  # ModelCall.cost's decimal places (SQLite sums decimals as floats)
ORDERINGS = ("name", "-name", "provider", "-provider", "created_at", "-created_at")


def model_config_list(
    *, provider: str | None = None, search: str | None = None, ordering: str = "name"
) -> QuerySet[ModelConfig]:
    configs = ModelConfig.objects.select_related("api_key", "fallback")
    if provider:
        configs = configs.filter(provider=provider)
    if search:
        configs = configs.filter(name__icontains=search) | configs.filter(model__icontains=search)
    return configs.order_by(ordering if ordering in ORDERINGS else "name")


@dataclass(frozen=True)
class Usage:
    tokens: int
    cost: Decimal
    calls: int


def utc_day_start(now: datetime | None = None) -> datetime:
    now = (now or timezone.now()).astimezone(UTC)
    return datetime.combine(now.date(), time.min, tzinfo=UTC)


def ai_usage_today(
    *, model_config_id: int | None = None, caller: str | None = None, now: datetime | None = None
) -> Usage:
    """Tokens, cost and calls since the start of the current UTC day, for one config and/or caller (or all)."""
    calls = ModelCall.objects.filter(created_at__gte=utc_day_start(now))
    if model_config_id is not None:
        calls = calls.filter(model_config_id=model_config_id)
    if caller is not None:
        calls = calls.filter(caller=caller)
    totals = calls.aggregate(
        tokens_in=Sum("tokens_in"), tokens_out=Sum("tokens_out"), cost=Sum("cost"), calls=Count("pk")
    )
    return Usage(
        tokens=(totals["tokens_in"] or 0) + (totals["tokens_out"] or 0),
        cost=Decimal(totals["cost"] or 0).quantize(COST_QUANTUM),
        calls=totals["calls"],
    )


def cached_answer_get(*, key: str) -> CachedAnswer | None:
    return CachedAnswer.objects.filter(key=key).first()


@dataclass(frozen=True)
class DayUsage:
    day: date
    calls: int
    failures: int
    tokens_in: int
    tokens_out: int
    cost: Decimal
    p95_latency_ms: int | None


def percentile_nearest_rank(values: list[int], share: float) -> int | None:
    """The smallest value with at least `share` of the values at or below it (nearest-rank)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


def model_usage_days(
    *, model_config_id: int | None = None, caller: str | None = None, days: int = 30, now: datetime | None = None
) -> list[DayUsage]:
    """One row per UTC day with calls in the last `days` days, newest first, of one config and/or one
    caller ("trader:12"); a failure is any call not "ok"."""
    since = utc_day_start(now) - timedelta(days=days - 1)
    calls = ModelCall.objects.filter(created_at__gte=since)
    if model_config_id is not None:
        calls = calls.filter(model_config_id=model_config_id)
    if caller is not None:
        calls = calls.filter(caller=caller)
    rows = calls.values_list("created_at", "outcome", "tokens_in", "tokens_out", "cost", "latency_ms")
    by_day: dict[date, list[tuple]] = defaultdict(list)
    for row in rows.iterator():
        by_day[row[0].astimezone(UTC).date()].append(row)
    return [
        DayUsage(
            day=day,
            calls=len(calls),
            failures=sum(1 for call in calls if call[1] != ModelCall.Outcome.OK),
            tokens_in=sum(call[2] for call in calls),
            tokens_out=sum(call[3] for call in calls),
            cost=sum((call[4] for call in calls), Decimal("0")).quantize(COST_QUANTUM),
            p95_latency_ms=percentile_nearest_rank([call[5] for call in calls], 0.95),
        )
        for day, calls in sorted(by_day.items(), reverse=True)
    ]


def model_config_get(*, config_id: int) -> ModelConfig | None:
    return model_config_list().filter(pk=config_id).first()
