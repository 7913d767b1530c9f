"""The model pages in a browser: an admin opens a model config from /models/, tests its connection in
place (a scripted OpenAI-compatible server on 127.0.0.1), and reads its usage per day."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import expect

from apps.ai.services import model_config_create
from tests.ai.scripted_server import _scripted_server, answer, error, scripted  # noqa: F401 (fixtures)
from tests.e2e.helpers import duplicate_ids, htmx_settled, inherited_htmx
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_an_admin_tests_a_model_connection_and_reads_its_usage(page: Any, log_in: Any, scripted: Any) -> None:  # noqa: F811
    model_config_create(
        name="Desk model",
        provider="openai_compatible",
        model="desk-model",
        base_url=scripted.base_url,
        daily_token_budget=1000,
        secrets={"api_key": "sk-e2e-secret-value"},
    )
    scripted.script(
        answer(json.dumps({"status": "ok"}), tokens_in=30, tokens_out=6),
        error(401, "Incorrect API key provided: sk-e2e-secret-value"),
    )
    log_in(UserFactory(role="admin"))
    page.goto("/")
    page.locator("nav.top").get_by_role("link", name="Models").click()
    expect(page).to_have_title("Models · TradeOps")
    page.get_by_role("link", name="Desk model").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Desk model")
    expect(page.locator("#model-usage")).to_contain_text("No calls")

    with htmx_settled(page):
        page.get_by_role("button", name="Test connection").click()

    expect(page.locator("#test-result")).to_contain_text("connected")
    expect(page.locator("#test-result")).to_contain_text('{"status": "ok"}')
    assert inherited_htmx(page) == [] and duplicate_ids(page) == []

    with htmx_settled(page):
        page.get_by_role("button", name="Test connection").click()

    expect(page.locator("#test-result")).to_contain_text("refused the API key (HTTP 401)")
    assert "sk-e2e-secret-value" not in page.content()
    page.reload()
    expect(page.locator("#model-today")).to_contain_text("2 calls · 36 tokens of 1000")
    expect(page.locator("#model-usage tbody tr")).to_have_count(1)
    expect(page.locator("#model-usage tbody tr")).to_contain_text("1")  # one failure: the refused key
    page.screenshot(path="/tmp/e2e_models.png", full_page=True)
