"""An AI trader in a browser: its prompt preview (system, user, schema, tokens; no secret), and its
decision on /logs/ with the model's reason and evidence, answered by the scripted server on 127.0.0.1."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from apps.traders.services.cycles import trader_cycle_run
from tests.ai.scripted_server import _scripted_server, scripted  # noqa: F401 (fixtures)
from tests.e2e.helpers import duplicate_ids
from tests.exchanges.paper.helpers import release
from tests.factories import UserFactory
from tests.traders.ai.conftest import (  # noqa: F401 (fixtures)
    EXCHANGE_KEY,
    EXCHANGE_SECRET,
    MODEL_KEY,
    account,
    ai_trader,
    answered,
    model_config,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_the_preview_and_the_ai_decision_on_the_log(
    page: Any,
    log_in: Any,
    operator_user: Any,
    account: Any,  # noqa: F811
    model_config: Any,  # noqa: F811
    scripted: Any,  # noqa: F811
) -> None:
    trader, feed = ai_trader(operator_user, account, model_config)
    scripted.script(answered())
    release(feed, 0)
    trader_cycle_run(trader_id=trader.pk)
    release(feed, 1)
    log_in(UserFactory(role="viewer"))

    page.goto(f"/traders/{trader.pk}/")
    expect(page.locator("#trader-model")).to_contain_text("scripted")
    page.locator("#prompt-preview-link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Prompt preview · ai desk")
    expect(page.locator("#prompt-system")).to_contain_text("Answer with one JSON object")
    expect(page.locator("#prompt-user")).to_contain_text("Market: BTC/USDT:USDT on binanceusdm")
    expect(page.locator("#prompt-user")).to_contain_text("Position: long")  # the entry of the first cycle
    expect(page.locator("#prompt-schema")).to_contain_text('"open_long"')
    expect(page.locator("#prompt-tokens")).to_contain_text("of a budget of 1500")
    html = page.content()
    assert all(secret not in html for secret in (MODEL_KEY, EXCHANGE_KEY, EXCHANGE_SECRET))
    assert duplicate_ids(page) == []

    page.goto("/logs/")
    row = page.locator("#decision-table tbody tr").first
    expect(row).to_contain_text("Enter long")
    expect(row).to_contain_text("RSI oversold after a flat day")
    expect(row.locator(".ai-summary")).to_contain_text("rsi_14 25: oversold")
    expect(row.locator(".ai-summary")).to_contain_text("100+50 tokens")
    row.get_by_role("link").first.click()
    expect(page.locator("#decision-ai-plan")).to_contain_text("open_long BTC/USDT:USDT")
    expect(page.locator("#decision-evidence tbody tr")).to_have_count(1)
    expect(page.locator("#decision-evidence")).to_contain_text("oversold")
