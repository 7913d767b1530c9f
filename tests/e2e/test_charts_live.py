"""Charts follow the real live pipeline: a candle the replay releases in another process (as the worker
does) reaches the open market page over the websocket and appends a bar, without a reload."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.backtests.conftest import SYMBOL
from tests.e2e.test_charts import completed_plan

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

TICK_THE_REPLAY = (
    "from apps.market.models import Market; "
    "from apps.market.replay import ReplaySource, feed_advance; "
    f"feed_advance(market=Market.objects.get(symbol={SYMBOL!r}), timeframe='1h', "
    "source=ReplaySource(speed=1, start_bars=0))"
)


def test_a_candle_released_by_another_process_appends_a_bar(
    daphne_page: Any, daphne_log_in: Any, daphne_server: Any, operator_user: Any
) -> None:
    plan = completed_plan(operator_user, more_bars=2)
    daphne_log_in(operator_user)
    daphne_page.goto(f"/markets/{plan.market_id}/")
    expect(daphne_page.locator("#live-status")).to_have_attribute("data-state", "connected")
    figure = daphne_page.locator(f"#candle-chart-market-{plan.market_id}")
    expect(figure).to_have_attribute("data-state", "ready")
    expect(figure).to_have_attribute("data-bars", "3")

    daphne_server.manage("shell", "-c", TICK_THE_REPLAY)
    expect(figure).to_have_attribute("data-bars", "4", timeout=3000)
    expect(figure).to_have_attribute("data-last-close", "21000")
