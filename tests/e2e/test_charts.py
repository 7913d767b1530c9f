"""The candle, equity and drawdown charts in a browser: each draws the right number of bars, markers and
lines (read back from the chart library's own objects and from the figure's data attributes), follows
the live events dispatched on the document as `tradeops:event`, and the page logs no console error.

The plan (as in tests/traders/trading/conftest.py): a paper buy executed at bar 0 (fill 20,004) and
closed by its 21,000 take-profit at bar 2 (fill 20,995.8), with a 19,500 stop-loss."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect

from apps.backtests import services as backtest_services
from apps.backtests import tasks as backtest_tasks
from apps.core.events import event_message
from apps.core.models import Event
from apps.exchanges.tasks import process_paper_orders
from apps.market.models import MarketFeed
from apps.market.replay import ReplaySource, feed_advance
from apps.market.services import candle_series_import
from apps.traders.models import TradePlan
from apps.traders.pnl_selectors import equity_series
from apps.traders.services.plans import trade_plan_execute
from apps.traders.services.pnl import equity_snapshot_take
from tests.backtests.conftest import SYMBOL, stored_series
from tests.backtests.test_start import queued_run
from tests.exchanges.paper.helpers import flat, release
from tests.factories import MarketFactory
from tests.market.helpers import HOUR, START_MS, series_of
from tests.strategies.factories import StrategyFactory
from tests.traders.trading.test_api import setup_paper_trader
from tests.traders.trading.test_pages import preview

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

# What the chart library itself holds, read through its API (series data, markers, price lines).
CHART_STATE = """(figure) => {
  const chart = figure.tradeopsChart;
  return {
    bars: chart.series.data().length,
    markers: chart.markers.markers().map((marker) => marker.text),
    lines: chart.priceLines.map((line) => line.options().title),
    lastClose: chart.series.data().at(-1).close,
  };
}"""
DISPATCH = "(detail) => document.dispatchEvent(new CustomEvent('tradeops:event', {detail}))"


def completed_plan(operator: Any, *, more_bars: int = 0) -> TradePlan:
    trader, feed = setup_paper_trader()
    if more_bars:  # stored after bar 2, not released yet: what the replay plays next
        rows = [[START_MS + (3 + i) * HOUR, *flat(21000 + 10 * i), 1.0] for i in range(more_bars)]
        candle_series_import(market=feed.market, timeframe="1h", series=series_of(rows), source="test")
    trader.markets.set([feed.market])
    plan = preview(trader, operator)
    trade_plan_execute(plan_id=plan.pk, user=operator)
    release(feed, 2)
    process_paper_orders()
    plan.refresh_from_db()
    assert plan.status == "completed"
    return plan


def chart_ready(page: Any, selector: str) -> Any:
    figure = page.locator(selector)
    expect(figure).to_have_attribute("data-state", "ready")
    return figure


def test_the_plan_page_draws_its_candles_fills_and_levels(page: Any, log_in: Any, operator_user: Any) -> None:
    plan = completed_plan(operator_user)
    log_in(operator_user)
    page.goto(f"/trade/plans/{plan.pk}/")
    figure = chart_ready(page, f"#candle-chart-plan-{plan.pk}")

    expect(figure).to_have_attribute("data-bars", "3")
    expect(figure).to_have_attribute("data-markers", "2")
    expect(figure).to_have_attribute("data-lines", "3")
    state = figure.evaluate(CHART_STATE)
    assert state["bars"] == 3
    assert state["markers"] == ["entry 20004", "take-profit 20995.8"]
    assert state["lines"] == [f"entry #{plan.pk}", f"SL #{plan.pk}", f"TP #{plan.pk}"]
    figure.screenshot(path="var/e2e-artifacts/chart-plan.png")


def test_the_market_page_follows_live_candles_and_the_trader_page_draws_its_markets(
    page: Any, log_in: Any, operator_user: Any
) -> None:
    plan = completed_plan(operator_user, more_bars=2)
    log_in(operator_user)
    page.goto("/markets/")
    page.get_by_role("link", name=SYMBOL).click()
    figure = chart_ready(page, f"#candle-chart-market-{plan.market_id}")
    expect(figure).to_have_attribute("data-bars", "3")  # the 2 bars after the replay's horizon are not shown
    expect(figure).to_have_attribute("data-markers", "2")
    expect(figure).to_have_attribute("data-lines", "0")  # the plan is closed

    feed = MarketFeed.objects.get(market=plan.market, source="replay")
    feed_advance(market=plan.market, timeframe="1h", source=ReplaySource(speed=1, start_bars=0))
    (candle,) = Event.objects.filter(type="candle")
    page.evaluate(DISPATCH, event_message(candle))
    expect(figure).to_have_attribute("data-bars", "4")
    expect(figure).to_have_attribute("data-last-close", "21000")
    # The same candle again (a replayed event) and an older one change nothing.
    page.evaluate(DISPATCH, event_message(candle))
    older = json.loads(json.dumps(event_message(candle)))
    older["data"]["time"] = "2024-01-01T00:00:00Z"
    page.evaluate(DISPATCH, older)
    assert figure.evaluate(CHART_STATE)["bars"] == 4
    # Another market's candle is not this chart's.
    other = json.loads(json.dumps(event_message(candle)))
    other["data"]["market_id"] = plan.market_id + 1
    other["data"]["time"] = "2030-01-01T00:00:00Z"
    page.evaluate(DISPATCH, other)
    assert figure.evaluate(CHART_STATE)["bars"] == 4
    figure.screenshot(path="var/e2e-artifacts/chart-market.png")
    assert feed.pk  # the replay feed the page follows

    page.goto(f"/traders/{plan.trader_id}/")
    figure = chart_ready(page, f"#candle-chart-trader-{plan.trader_id}-market-{plan.market_id}")
    expect(figure).to_have_attribute("data-bars", "4")
    expect(figure).to_have_attribute("data-markers", "2")


def test_the_trader_page_draws_today_equity_and_appends_its_snapshots(
    page: Any, log_in: Any, operator_user: Any
) -> None:
    plan = completed_plan(operator_user)
    points = len(equity_series(trader_id=plan.trader_id))
    assert points >= 1  # snapshots after the fills
    log_in(operator_user)
    page.goto(f"/traders/{plan.trader_id}/")
    figure = chart_ready(page, f"#equity-chart-{plan.trader_id}")
    expect(figure).to_have_attribute("data-points", str(points))

    # A snapshot in a later 5-minute interval adds a point; the event carries what the page shows.
    snapshot = equity_snapshot_take(account=plan.account, trader=plan.trader, source="schedule")
    event = Event.objects.filter(type="equity", data__trader_id=plan.trader_id).order_by("pk").last()
    later = json.loads(json.dumps(event_message(event)))
    later["data"]["time"] = "2099-01-01T00:02:00Z"
    page.evaluate(DISPATCH, later)
    expect(figure).to_have_attribute("data-points", str(points + 1))
    expect(figure).to_have_attribute("data-last-equity", later["data"]["equity"])
    assert Decimal(later["data"]["equity"]) == snapshot.equity
    # Another snapshot in the same interval replaces that point; another trader's is not this chart's.
    same = json.loads(json.dumps(later))
    same["data"]["time"], same["data"]["equity"] = "2099-01-01T00:04:59Z", "1.00"
    page.evaluate(DISPATCH, same)
    other = json.loads(json.dumps(later))
    other["data"]["trader_id"], other["data"]["time"] = plan.trader_id + 1, "2099-01-02T00:00:00Z"
    page.evaluate(DISPATCH, other)
    expect(figure).to_have_attribute("data-last-equity", "1.00")
    assert figure.evaluate("(f) => f.tradeopsChart.equity.data().length") == points + 1
    figure.screenshot(path="var/e2e-artifacts/chart-trader-equity.png")


def test_a_plan_event_redraws_the_levels_of_a_new_plan(page: Any, log_in: Any, operator_user: Any) -> None:
    plan = completed_plan(operator_user)
    log_in(operator_user)
    page.goto(f"/markets/{plan.market_id}/")
    figure = chart_ready(page, f"#candle-chart-market-{plan.market_id}")
    expect(figure).to_have_attribute("data-lines", "0")

    TradePlan.objects.filter(pk=plan.pk).update(status="protection_placed")  # as if still open
    detail = {"id": 1, "type": "plan", "ts": "2024-01-01T00:00:00Z"}
    detail["data"] = {"plan_id": plan.pk, "market_id": plan.market_id, "trader_id": plan.trader_id, "to": "pending"}
    page.evaluate(DISPATCH, detail)
    expect(figure).to_have_attribute("data-lines", "3")


@pytest.fixture
def backtest_market(transactional_db: None, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(backtest_services, "DEFAULT_OUT_ROOT", tmp_path / "backtests")
    market = MarketFactory(symbol=SYMBOL)
    candle_series_import(market=market, timeframe="1h", series=stored_series(), source="tests", synthetic=True)
    return market


def test_a_backtest_page_follows_its_run_by_events_then_draws_its_equity(
    page: Any, log_in: Any, operator_user: Any, backtest_market: Any
) -> None:
    run = queued_run(StrategyFactory(name="RSI swing"), backtest_market)
    log_in(operator_user)
    page.goto(f"/backtests/{run.pk}/")
    expect(page.locator("#run-progress")).to_contain_text("Queued")

    backtest_tasks.backtest_run(run.pk)
    done = Event.objects.filter(type="backtest", data__run_id=run.pk).order_by("pk").last()
    assert done.data["status"] == "done"
    page.evaluate(DISPATCH, event_message(done))  # the page asks for its progress, and reloads once done
    figure = chart_ready(page, "#backtest-equity-chart")
    expect(figure).to_have_attribute("data-points", "600")  # 600 bars, under the 2,000-point budget
    drawn = figure.evaluate(
        "(figure) => { const chart = figure.tradeopsChart;"
        " return [chart.equity.data().length, Math.min(...chart.drawdown.data().map((point) => point.value))]; }"
    )
    run.refresh_from_db()
    assert drawn[0] == 600
    assert drawn[1] == pytest.approx(run.max_drawdown * 100, abs=1e-6)  # the deepest trough, in percent
    figure.screenshot(path="var/e2e-artifacts/chart-backtest.png")
