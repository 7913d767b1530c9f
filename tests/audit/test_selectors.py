"""The decision log's list and figures: every filter narrows both, newest candle first, and the win
rate and realised PnL agree with a plain count over the rows and with the plans' own results."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest

from apps.audit.models import DecisionLog
from apps.audit.selectors import DecisionFilters, decision_list, decision_stats
from apps.traders.models import TradePlan
from apps.traders.selectors import trade_plan_result
from tests.audit.helpers import T0, DecisionFactory, traded_round_trip
from tests.factories import MarketFactory, TraderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def log() -> dict[str, DecisionLog]:
    """Two traders on two markets over four hours: held, a win, a loss, a rejection, an error."""
    alpha, beta = TraderFactory(name="alpha"), TraderFactory(name="beta")
    btc, eth = MarketFactory(), MarketFactory(symbol="ETH/USDT:USDT", base="ETH")
    return {
        "held": DecisionFactory(trader=alpha, market=btc, candle_open_time=T0),
        "win": DecisionFactory(
            trader=alpha,
            market=btc,
            candle_open_time=T0 + timedelta(hours=1),
            outcome="traded",
            realised_pnl=D("12.50"),
        ),
        "loss": DecisionFactory(
            trader=beta, market=eth, candle_open_time=T0 + timedelta(hours=2), outcome="traded", realised_pnl=D("-4.25")
        ),
        "open": DecisionFactory(
            trader=beta, market=eth, candle_open_time=T0 + timedelta(hours=2, minutes=1), outcome="traded"
        ),
        "rejected": DecisionFactory(
            trader=alpha, market=eth, candle_open_time=T0 + timedelta(hours=3), outcome="rejected"
        ),
        "error": DecisionFactory(trader=beta, market=btc, candle_open_time=T0 + timedelta(hours=4), outcome="error"),
    }


def names(log: dict[str, DecisionLog], filters: DecisionFilters) -> list[str]:
    by_id = {decision.pk: name for name, decision in log.items()}
    return [by_id[decision.pk] for decision in decision_list(filters=filters)]


def test_the_list_is_newest_candle_first_and_each_filter_narrows_it(log) -> None:
    alpha, eth = log["held"].trader_id, log["loss"].market_id
    assert names(log, DecisionFilters()) == ["error", "rejected", "open", "loss", "win", "held"]
    assert names(log, DecisionFilters(trader=alpha)) == ["rejected", "win", "held"]
    assert names(log, DecisionFilters(market=eth)) == ["rejected", "open", "loss"]
    assert names(log, DecisionFilters(outcome="traded")) == ["open", "loss", "win"]
    assert names(log, DecisionFilters(trader=alpha, market=eth)) == ["rejected"]


def test_the_date_range_is_on_the_candle_from_included_to_excluded(log) -> None:
    hour = timedelta(hours=1)
    assert names(log, DecisionFilters(since=T0 + hour, until=T0 + 3 * hour)) == ["open", "loss", "win"]
    assert names(log, DecisionFilters(since=T0 + 4 * hour)) == ["error"]
    assert names(log, DecisionFilters(until=T0 + hour)) == ["held"]


def plain_stats(rows: list[DecisionLog]) -> dict:
    """The independent computation: a count over the rows in plain Python."""
    completed = [row.realised_pnl for row in rows if row.realised_pnl is not None]
    wins = [pnl for pnl in completed if pnl > 0]
    return {
        "decisions": len(rows),
        "trades": sum(row.outcome == "traded" for row in rows),
        "risk_rejections": sum(row.outcome == "rejected" for row in rows),
        "errors": sum(row.outcome == "error" for row in rows),
        "win_rate": len(wins) / len(completed) if completed else None,
        "realised_pnl": sum(completed, D(0)),
    }


def figures(filters: DecisionFilters) -> dict:
    stats = decision_stats(filters=filters)
    return {
        "decisions": stats.decisions,
        "trades": stats.trades,
        "risk_rejections": stats.risk_rejections,
        "errors": stats.errors,
        "win_rate": stats.win_rate,
        "realised_pnl": stats.realised_pnl,
    }


def test_the_figures_count_outcomes_and_completed_trades_only(log) -> None:
    stats = decision_stats(filters=DecisionFilters())
    # One win of 12.50 and one loss of 4.25 completed; the open trade has no PnL yet and is not counted.
    assert (stats.decisions, stats.trades, stats.risk_rejections, stats.errors) == (6, 3, 1, 1)
    assert (stats.completed, stats.wins, stats.win_rate, stats.realised_pnl) == (2, 1, 0.5, D("8.25"))


@pytest.mark.parametrize(
    "filters",
    [
        DecisionFilters(),
        DecisionFilters(outcome="traded"),
        DecisionFilters(since=T0 + timedelta(hours=2)),
        DecisionFilters(until=T0 + timedelta(hours=2)),
        DecisionFilters(outcome="held"),
    ],
    ids=["all", "traded", "since", "until", "held"],
)
def test_the_figures_agree_with_a_plain_count_over_the_same_filter(log, filters) -> None:
    assert figures(filters) == plain_stats(list(decision_list(filters=filters)))


def test_the_figures_follow_the_trader_and_market_filters(log) -> None:
    alpha, beta = log["held"].trader_id, log["loss"].trader_id
    assert decision_stats(filters=DecisionFilters(trader=alpha)).realised_pnl == D("12.50")
    assert decision_stats(filters=DecisionFilters(trader=beta)).win_rate == 0.0
    assert figures(DecisionFilters(trader=beta)) == plain_stats(
        list(decision_list(filters=DecisionFilters(trader=beta)))
    )


def test_no_decisions_no_win_rate_and_zero_pnl(db) -> None:
    stats = decision_stats(filters=DecisionFilters())
    assert (stats.decisions, stats.win_rate, stats.realised_pnl) == (0, None, D(0))


def test_a_real_round_trip_counts_one_winning_trade_worth_the_plans_own_result(
    operator, django_capture_on_commit_callbacks
) -> None:
    def run(cycle):
        with django_capture_on_commit_callbacks(execute=True):
            return cycle()

    trader = traded_round_trip(operator, run)

    stats = decision_stats(filters=DecisionFilters(trader=trader.pk))
    plan = TradePlan.objects.get(trader=trader)
    # The plan page's figure, computed from the paper fills, rounded to the cent as the log keeps it.
    from_fills = trade_plan_result(plan=plan).realised_pnl
    assert plan.status == TradePlan.Status.COMPLETED and from_fills > 0
    assert (stats.decisions, stats.trades, stats.completed, stats.wins, stats.win_rate) == (5, 2, 1, 1, 1.0)
    assert stats.realised_pnl == from_fills.quantize(D("0.01"))
