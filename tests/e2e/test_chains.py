"""The audit chain in a browser: from the plans list to a filled plan's chain, every step from the
signal to the PnL in order, then the what-if with a stricter profile compared in place."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import expect

from apps.traders.models import TradePlan
from tests.audit.helpers import traded_round_trip
from tests.e2e.helpers import duplicate_ids, htmx_settled, inherited_htmx
from tests.factories import RiskProfileFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
SCREENSHOT = settings.BASE_DIR / "var" / "e2e-artifacts" / "chain_page.png"


def test_a_chain_page_shows_every_step_and_the_what_if(page: Any, log_in: Any, operator_user: Any) -> None:
    traded_round_trip(operator_user)  # entered on bar 1, exited with a win on bar 3
    RiskProfileFactory(name="strict", max_order_notional=D(500), symbol_cooldown_seconds=0, risk_per_trade=D("0.1"))
    plan = TradePlan.objects.get()
    log_in(operator_user)

    page.goto(f"/trade/plans/{plan.pk}/")
    page.get_by_role("link", name="Audit chain").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Chain of plan {plan.pk}")
    steps = page.locator("#chain-timeline > li")
    kinds = steps.evaluate_all("items => items.map(item => item.dataset.kind)")
    first = {kind: kinds.index(kind) for kind in reversed(kinds)}
    assert first["signal"] < first["decision"] < first["risk"] < first["order"] < first["fill"] < first["pnl"]
    assert kinds[-1] == "pnl"
    expect(steps.nth(0)).to_contain_text("close 18900")
    expect(page.locator(".step-decision").first).to_contain_text("long entry rule fired")
    expect(page.locator(".step-risk table")).to_contain_text("max_order_notional")
    expect(page.locator(".step-fill").first).to_contain_text("at 18903.8")
    expect(page.locator(".step-pnl")).to_contain_text("realised 133.94 USDT")

    page.get_by_label("Risk profile").select_option(label="strict")
    with htmx_settled(page):
        page.get_by_role("button", name="Compare").click()
    comparison = page.locator("#what-if-comparison")
    expect(comparison).to_contain_text("approved")
    expect(comparison).to_contain_text("scaled_down")
    expect(page.locator("#what-if-rules tr.changed").first).to_contain_text("max_order_notional")
    expect(page.locator("#what-if-assumptions")).to_contain_text("free margin")
    assert inherited_htmx(page) == [] and duplicate_ids(page) == []
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOT, full_page=True)
    assert TradePlan.objects.count() == 1
