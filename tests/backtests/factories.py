from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import factory

from apps.backtests.models import BacktestRun
from apps.strategies.presets import preset_spec_data
from tests.factories import MarketFactory


class BacktestRunFactory(factory.django.DjangoModelFactory):
    """A recorded run whose files do not exist (the pages tests write real ones when they need them)."""

    class Meta:
        model = BacktestRun

    strategy_name = "rsi_mean_reversion"
    strategy_source = BacktestRun.Source.PRESET
    spec = factory.LazyFunction(lambda: preset_spec_data("rsi_mean_reversion"))
    market = factory.SubFactory(MarketFactory)
    exchange = factory.SelfAttribute("market.exchange")
    symbol = factory.SelfAttribute("market.symbol")
    timeframe = "1h"
    period_start = datetime(2024, 1, 1, tzinfo=UTC)
    period_end = datetime(2024, 1, 2, tzinfo=UTC)
    bars = 25
    initial_cash = Decimal("10000")
    fee_bps = Decimal("4")
    slippage_bps = Decimal("2")
    size_pct = Decimal("100")
    metrics = factory.LazyAttribute(
        lambda run: {"total_return": run.total_return, "sharpe": run.sharpe, "max_drawdown": run.max_drawdown}
    )
    total_return = 0.05
    sharpe = 1.0
    max_drawdown = -0.02
    trade_count = 3
    output_dir = "/nonexistent/backtest"
    trades_path = "/nonexistent/backtest/trades.csv"
    equity_path = "/nonexistent/backtest/equity.csv"
    metrics_path = "/nonexistent/backtest/metrics.json"
    report_path = "/nonexistent/backtest/report.html"
    duration_seconds = 0.5
