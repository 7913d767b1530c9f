"""A backtest's live side: a `backtest` event for each progress step and status change (the run's page
follows them), and GET /api/v1/backtests/{id}/equity, the equity and drawdown its chart draws."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from apps.backtests import tasks
from apps.backtests.models import BacktestRun
from apps.core.models import Event
from apps.market.models import Candle
from tests.backtests.factories import BacktestRunFactory
from tests.backtests.test_start import queued_run
from tests.strategies.factories import StrategyFactory, client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def strategy(market):
    return StrategyFactory(name="RSI swing")


def backtest_events(run: BacktestRun) -> list[tuple[str, str, int]]:
    events = Event.objects.filter(type="backtest", data__run_id=run.pk).order_by("pk")
    return [(event.data["status"], event.data["phase"], event.data["progress"]) for event in events]


def test_each_progress_step_and_the_end_is_published_with_the_row(strategy, market) -> None:
    run = queued_run(strategy, market)
    tasks.backtest_run(run.pk)

    published = backtest_events(run)
    assert published[0] == ("running", "loading", 0)
    assert published[-1] == ("done", "", 100)
    phases = [phase for _status, phase, _percent in published[1:-1] if phase != "compiling"]
    assert phases == ["loading", "signals", "simulating", "writing"]
    percents = [percent for _status, _phase, percent in published]
    assert percents == sorted(percents)


def test_a_failed_run_publishes_its_failure(strategy, market) -> None:
    run = queued_run(strategy, market)
    Candle.objects.filter(market=market).delete()
    tasks.backtest_run(run.pk)
    assert backtest_events(run)[-1][0] == "failed"


def equity_rows(run: BacktestRun) -> list[dict[str, str]]:
    """The run's equity file read with the csv module: the reference the endpoint's points are checked on."""
    with Path(run.equity_path).open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_equity_endpoint_keeps_every_point_of_a_short_run_and_the_troughs_of_a_long_one(
    viewer, strategy, market
) -> None:
    run = queued_run(strategy, market)
    tasks.backtest_run(run.pk)
    run.refresh_from_db()
    rows = equity_rows(run)
    client = client_for(viewer)

    body = client.get(f"/api/v1/backtests/{run.pk}/equity").json()
    assert (body["run_id"], body["total_points"], body["initial_cash"]) == (run.pk, 600, "10000.00000000")
    assert len(body["points"]) == len(rows) == run.bars
    first, last = body["points"][0], body["points"][-1]
    assert first["time"] == rows[0]["time"] and last["time"] == rows[-1]["time"]
    assert last["equity"] == pytest.approx(float(rows[-1]["equity"]))
    assert last["drawdown"] == pytest.approx(float(rows[-1]["drawdown"]))

    small = client.get(f"/api/v1/backtests/{run.pk}/equity", {"max_points": 10}).json()
    assert 10 <= len(small["points"]) <= 40
    deepest = min(float(row["drawdown"]) for row in rows)
    assert min(point["drawdown"] for point in small["points"]) == pytest.approx(deepest)
    assert deepest == pytest.approx(run.max_drawdown)  # the metric the run page shows
    highest = max(float(row["equity"]) for row in rows)
    assert max(point["equity"] for point in small["points"]) == pytest.approx(highest)
    times = [point["time"] for point in small["points"]]
    assert times == sorted(times)


def test_the_equity_endpoint_refuses_unfinished_runs_missing_files_and_bad_input(viewer, strategy, market) -> None:
    client = client_for(viewer)
    queued = queued_run(strategy, market)
    response = client.get(f"/api/v1/backtests/{queued.pk}/equity")
    assert response.status_code == 409 and "queued" in response.json()["detail"]
    gone = BacktestRunFactory(status=BacktestRun.Status.DONE)
    response = client.get(f"/api/v1/backtests/{gone.pk}/equity")
    assert response.status_code == 404 and "no longer on disk" in response.json()["detail"]
    assert client.get(f"/api/v1/backtests/{gone.pk + 100}/equity").status_code == 404
    response = client.get(f"/api/v1/backtests/{gone.pk}/equity", {"max_points": 1})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"][-1] == "max_points"


def test_the_done_page_draws_the_equity_chart(viewer, strategy, market) -> None:
    run = queued_run(strategy, market)
    tasks.backtest_run(run.pk)
    page = client_for(viewer).get(f"/backtests/{run.pk}/").content.decode()
    assert f'data-chart="equity" data-url="/api/v1/backtests/{run.pk}/equity"' in page
