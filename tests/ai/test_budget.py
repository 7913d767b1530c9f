"""Daily token and cost budgets: a config stops at its limit and not before, and resumes the next UTC day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db.models import F

from apps.ai.decide import Prompt, ai_decide
from apps.ai.models import ModelCall
from apps.ai.selectors import ai_usage_today
from apps.ai.services import model_call_record, model_config_create, model_config_update
from tests.ai.conftest import BOUNDS
from tests.ai.scripted_server import answer
from tests.ai.test_decide import plan

pytestmark = pytest.mark.django_db
PROMPT = Prompt(system="s", user="u")


def decide(config, router, caller: str = "trader:3"):
    return ai_decide(config=config, prompt=PROMPT, bounds=BOUNDS, caller=caller, router=router)


def limit(config, **budgets):
    model_config_update(config=config, changes=budgets)
    config.refresh_from_db()


def test_the_token_budget_stops_at_its_limit_and_not_before(scripted, remote_config, router) -> None:
    limit(remote_config, daily_token_budget=300)  # each answer: 100 tokens in + 50 out
    scripted.script(*(answer(plan()) for _ in range(3)))

    decisions = [decide(remote_config, router) for _ in range(3)]

    assert [decision.plan is not None for decision in decisions] == [True, True, False]
    stopped = decisions[2]
    assert stopped.budget_exhausted
    assert stopped.no_trade_reason == "budget exhausted: scripted used 300 of 300 tokens today (UTC)"
    assert len(scripted.requests) == 2  # the third was never sent
    assert ai_usage_today(model_config_id=remote_config.pk).tokens == 300


def test_the_cost_budget_stops_at_its_limit(scripted, remote_config, router) -> None:
    # Each answer costs 100 * 2 / 1e6 + 50 * 8 / 1e6 = 0.0006 at the config's prices.
    limit(remote_config, daily_token_budget=0, daily_cost_budget=Decimal("0.0012"))
    scripted.script(*(answer(plan()) for _ in range(3)))

    decisions = [decide(remote_config, router) for _ in range(3)]

    assert [decision.plan is not None for decision in decisions] == [True, True, False]
    assert decisions[2].no_trade_reason == "budget exhausted: scripted spent 0.001200 of 0.0012 today (UTC)"


def test_an_exhausted_budget_resumes_the_next_utc_day(scripted, remote_config, router) -> None:
    limit(remote_config, daily_token_budget=150)
    scripted.script(answer(plan()), answer(plan()))
    assert decide(remote_config, router).plan is not None
    assert decide(remote_config, router).budget_exhausted

    # The next UTC day: what was spent is now yesterday's.
    ModelCall.objects.update(created_at=F("created_at") - timedelta(days=1))

    assert decide(remote_config, router).plan is not None


def test_today_starts_at_midnight_utc(remote_config) -> None:
    now = datetime(2026, 5, 2, 0, 30, tzinfo=UTC)
    for created_at in (datetime(2026, 5, 1, 23, 59, 59, tzinfo=UTC), datetime(2026, 5, 2, 0, 0, tzinfo=UTC)):
        call = model_call_record(config=remote_config, caller="trader:3", outcome="ok", tokens_in=10, tokens_out=5)
        ModelCall.objects.filter(pk=call.pk).update(created_at=created_at)
    model_call_record(config=remote_config, caller="trader:4", outcome="ok", tokens_in=1000)
    ModelCall.objects.filter(caller="trader:4").update(created_at=now)

    assert ai_usage_today(model_config_id=remote_config.pk, now=now).tokens == 1015
    assert ai_usage_today(caller="trader:3", now=now).tokens == 15
    assert ai_usage_today(caller="trader:3", now=now).calls == 1


def test_an_exhausted_config_hands_over_to_its_fallback(scripted, remote_config, router) -> None:
    backup = model_config_create(
        name="backup", provider="openai_compatible", model="backup", base_url=scripted.base_url, daily_token_budget=150
    )
    limit(remote_config, daily_token_budget=1, fallback_id=backup.pk)
    model_call_record(config=remote_config, caller="x", outcome="ok", tokens_in=1)
    scripted.script(answer(plan()), answer(plan()))

    first = decide(remote_config, router)
    second = decide(remote_config, router)

    assert first.plan is not None and first.model_config_id == backup.pk and not first.budget_exhausted
    assert second.plan is None and second.budget_exhausted
    assert second.no_trade_reason == (
        "budget exhausted: scripted used 1 of 1 tokens today (UTC); "
        "then budget exhausted: backup used 150 of 150 tokens today (UTC)"
    )
