"""One decision path for live and backtest, proven on real candles (Binance BTCUSDT 1m, 2023-03-16 to
2023-05-01, ../shared/data): a paper trader run cycle by cycle makes exactly the trades of
`backtest --trader` (apps.backtests.trader_sim), on replayed prices (with and without a strategy
reading stored news) and on live prices (the forward test: the candles arrive through the exchange
feed as live collection stores them), and with fixed
sizing and no risk limits the trader simulation equals the vectorised engine (fill="close") trade for
trade."""

from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path

import numpy as np
import pytest

from apps.audit.models import DecisionLog
from apps.backtests.engine import EXIT_REASONS, BacktestParams, run_backtest
from apps.backtests.trader_runs import TraderPeriod, trader_backtest, trader_setup
from apps.backtests.trader_sim import simulate_trader
from apps.exchanges.models import PaperFill
from apps.market.arrays import CandleArrays
from apps.market.models import MarketFeed
from apps.market.replay import feed_advance
from apps.market.services import candle_series_import
from apps.strategies.models import Strategy
from apps.strategies.spec import StrategySpec
from apps.traders.models import TradePlan, Trader
from apps.traders.services import trader_create, trader_start
from apps.traders.services.cycles import trader_cycle_run
from tests.conftest import shared_data_path
from tests.exchanges.paper.helpers import RecordedExchange, paper_account
from tests.factories import MarketFactory, RiskProfileFactory
from tests.market.helpers import series_of
from tests.news.helpers import scored_news

pytestmark = [pytest.mark.shared_data]
BTC_1M = ("ohlcv", "binance_BTCUSDT_1m_2023-03-16_2023-05-01.freqtrade.json")
FIRST = 10_000  # 2023-03-23 17:00: a stretch with both rallies and sell-offs
CYCLES = 600
# 2023-03-23 17:00 to 23:39 UTC: one UTC day, so the daily loss limit counts the same day whether it
# reads the candles' clock (the backtest) or the wall clock (a live-priced account trades "today").
LIVE_CYCLES = 400
ENGINE_BARS = 20_000
# RSI(7) mean reversion on both sides, exits on the cross back through 50: on 1m candles it trades
# about once every 20 candles, and a 0.2 % stop fires often enough to test the stop path too.
SPEC = {
    "timeframe": "1m",
    "markets": ["BTC/USDT:USDT"],
    "indicators": [{"id": "rsi_7", "kind": "rsi", "period": 7}],
    "entry": {"long": {"left": "rsi_7", "op": "<", "right": 25}, "short": {"left": "rsi_7", "op": ">", "right": 75}},
    "exit": {
        "long": {"left": "rsi_7", "op": "crosses_above", "right": 50},
        "short": {"left": "rsi_7", "op": "crosses_below", "right": 50},
    },
}


# The same, trading only with the news: long on good news, short on bad (the base asset's rolling
# sentiment at the close, over factory-made headlines about one every five minutes).
NEWS_SPEC = {
    **SPEC,
    "entry": {
        "long": {"all": [SPEC["entry"]["long"], {"left": "sentiment", "op": ">", "right": 0}]},
        "short": {"all": [SPEC["entry"]["short"], {"left": "sentiment", "op": "<", "right": 0}]},
    },
}


def real_rows(count: int) -> list[list[float]]:
    rows = json.loads(Path(shared_data_path(*BTC_1M)).read_text())
    return rows[FIRST : FIRST + count]


def stored_market(rows: list[list[float]]):
    market = MarketFactory(min_notional=D(5))
    candle_series_import(market=market, timeframe="1m", series=series_of(rows), source="tests")
    return market


def make_trader(operator, market, *, price_source: str = "replay", spec: dict = SPEC, **rules) -> Trader:
    strategy = Strategy.objects.create(name="rsi 7 both sides", spec=spec)
    trader = trader_create(
        name="parity",
        account=paper_account(leverage=5, price_source=price_source),
        risk_profile=RiskProfileFactory(
            symbol_cooldown_seconds=0,  # cooldowns read the wall clock; the backtest, the candles' clock
            risk_per_trade=D("0.01"),
            max_order_notional=D(8_000),  # below the equity: the risk gate scales every entry down
            max_total_notional=D(50_000),
            daily_loss_limit=D("0.5"),
            max_drawdown=D("0.5"),
        ),
        strategy=strategy,
        markets=[market.pk],
        leverage=5,
        **rules,
    )
    trader_start(trader=trader, user=operator)
    return trader


def paper_fills(trader: Trader) -> list[tuple[int, str, D, D]]:
    """Every fill of the trader's paper account: (candle open ms, side, price, amount)."""
    fills = PaperFill.objects.filter(order__account=trader.account).select_related("order")
    rows = []
    for fill in fills.order_by("pk"):
        moment = fill.candle_time or fill.order.created_candle_time
        rows.append((int(moment.timestamp() * 1000), fill.order.side, fill.price, fill.amount))
    return rows


def simulated_fills(trades) -> list[tuple[int, str, D, D]]:
    rows = []
    for trade in trades:
        entry_side, exit_side = ("buy", "sell") if trade.side == "long" else ("sell", "buy")
        rows.append((trade.entry_ms, entry_side, trade.entry_price, trade.quantity))
        if trade.reason != "end_open":
            rows.append((trade.exit_ms, exit_side, trade.exit_price, trade.quantity))
    return rows


@pytest.mark.parametrize(("spec", "min_trades"), [(SPEC, 24), (NEWS_SPEC, 8)], ids=["rsi", "rsi and news"])
def test_a_paper_trader_cycle_by_cycle_makes_the_trades_of_the_trader_backtest(
    operator, django_capture_on_commit_callbacks, spec, min_trades
) -> None:
    """Reference: `backtest --trader` (apps.backtests.trader_runs.trader_backtest) over the same 600
    stored candles and stored headlines. The paper trader runs trader_cycle_run once per candle as
    the replay feed releases it (the simulated clock), with risk sizing scaled by the profile's order cap."""
    rows = real_rows(CYCLES)
    market = stored_market(rows)
    scored_news(asset=market.base, start_ms=int(rows[0][0]) + 600_000, end_ms=int(rows[-1][0]), count=CYCLES // 5)
    trader = make_trader(
        operator,
        market,
        spec=spec,
        sizing="risk",
        sizing_pct=D(1),
        stop_loss="percent",
        stop_loss_value=D("0.2"),
        take_profit="percent",
        take_profit_value=D("0.4"),
    )
    feed = MarketFeed.objects.create(market=market, timeframe="1m", source=MarketFeed.Source.REPLAY)
    candle_times = list(market.candles.filter(timeframe="1m").order_by("open_time").values_list("open_time", flat=True))
    for moment in candle_times:
        feed.horizon = moment
        feed.save(update_fields=["horizon"])
        with django_capture_on_commit_callbacks(execute=True):
            trader_cycle_run(trader_id=trader.pk)

    backtest = trader_backtest(name="parity", symbol=None, period=TraderPeriod(), cash=D(10_000), record=True)

    simulated = simulated_fills(backtest.run.trades)
    assert len(backtest.run.trades) >= min_trades, "the thresholds should make dozens of trades"
    assert {trade.reason for trade in backtest.run.trades} >= {"signal", "stop_loss"}
    assert paper_fills(trader) == simulated
    assert all(plan.quantity < plan.requested_quantity for plan in TradePlan.objects.all())
    live = DecisionLog.objects.order_by("candle_open_time").values_list("action", "outcome", "inputs__sentiment")
    simulated_decisions = [
        (record.decision.action.value, record.outcome, record.inputs.sentiment) for record in backtest.run.decisions
    ]
    assert list(live) == simulated_decisions
    # Both read the news: good, bad, and (before the first headline) missing.
    sentiments = [sentiment for _action, _outcome, sentiment in simulated_decisions]
    assert None in sentiments and min(s for s in sentiments if s is not None) < 0 < max(s for s in sentiments if s)


def test_a_trader_on_live_prices_makes_the_trades_of_the_trader_backtest_over_the_recorded_candles(
    operator, django_capture_on_commit_callbacks
) -> None:
    """The forward test: a paper account with price_source="live", its 400 candles collected one by one
    through the market's exchange feed (each release enqueues the trader's cycle, run inline by the
    test settings), then `backtest --trader` over the candles the collection stored. Pinned for the
    clocks: no symbol cooldown, and one UTC day of candles (see LIVE_CYCLES)."""
    rows = real_rows(LIVE_CYCLES)
    market = MarketFactory(min_notional=D(5))
    trader = make_trader(
        operator,
        market,
        price_source="live",
        sizing="risk",
        sizing_pct=D(1),
        stop_loss="percent",
        stop_loss_value=D("0.2"),
        take_profit="percent",
        take_profit_value=D("0.4"),
    )
    exchange = RecordedExchange(rows)
    for _row in rows:
        with django_capture_on_commit_callbacks(execute=True):
            feed_advance(market=market, timeframe="1m", source=exchange)

    backtest = trader_backtest(name="parity", symbol=None, period=TraderPeriod(), cash=D(10_000), record=True)

    assert not MarketFeed.objects.filter(source=MarketFeed.Source.REPLAY).exists()
    assert DecisionLog.objects.count() == LIVE_CYCLES
    assert len(backtest.run.trades) >= 12, "the thresholds should make a dozen trades or more"
    assert {trade.reason for trade in backtest.run.trades} >= {"signal", "stop_loss"}
    assert paper_fills(trader) == simulated_fills(backtest.run.trades)
    live_decisions = list(DecisionLog.objects.order_by("candle_open_time").values_list("action", "outcome"))
    assert live_decisions == [(record.decision.action.value, record.outcome) for record in backtest.run.decisions]


def engine_trades(result) -> list[tuple]:
    trades = result.trades
    return [
        (int(trades.entry_bar[i]), int(trades.exit_bar[i]), int(trades.side[i]), EXIT_REASONS[trades.reason[i]])
        for i in range(len(trades))
    ]


def test_with_fixed_sizing_and_no_risk_limits_the_trader_backtest_equals_the_vectorised_engine(operator) -> None:
    """Reference: apps.backtests.engine.run_backtest with fill="close", the trader's fee, slippage,
    size and percent levels, over 20,000 real candles. The market's tick and step are tiny, so the
    trader's rounding to them cannot move a level or a size by more than float noise."""
    rows = real_rows(ENGINE_BARS)
    tiny = D("1e-8")
    market = MarketFactory(price_precision=tiny, amount_precision=tiny, min_amount=tiny, min_notional=D(0))
    loose = RiskProfileFactory(
        symbol_cooldown_seconds=0,
        max_order_notional=D(10**9),
        max_total_notional=D(10**9),
        min_order_notional=D(0),
        require_stop_loss=False,
        daily_loss_limit=D("0.99"),
        max_drawdown=D("0.99"),
    )
    strategy = Strategy.objects.create(name="rsi 7 both sides", spec=SPEC)
    trader = trader_create(
        name="fixed",
        account=paper_account(leverage=5),
        risk_profile=loose,
        strategy=strategy,
        markets=[market.pk],
        leverage=5,
        sizing="fixed",
        sizing_pct=D(50),
        stop_loss="percent",
        stop_loss_value=D("0.2"),
        take_profit="percent",
        take_profit_value=D("0.4"),
    )
    candles = CandleArrays.from_rows(np.array(rows, dtype=np.float64))
    spec = StrategySpec.model_validate(SPEC)
    setup = trader_setup(trader=trader, market=market, spec=spec, cash=D(10_000))

    simulated = simulate_trader(setup, candles).result
    engine = run_backtest(
        spec,
        candles,
        BacktestParams(cash=10_000, fee_bps=4, slippage_bps=2, size_pct=50, sl_pct=0.2, tp_pct=0.4, fill="close"),
    )

    assert len(engine.trades) > 500
    assert engine_trades(simulated) == engine_trades(engine)
    for column in ("entry_price", "exit_price", "quantity", "pnl", "fees"):
        np.testing.assert_allclose(getattr(simulated.trades, column), getattr(engine.trades, column), rtol=1e-7)
    np.testing.assert_allclose(simulated.equity, engine.equity, rtol=1e-7)
    assert (simulated.in_position == engine.in_position).all()
