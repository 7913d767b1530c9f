"""The trader simulation applies the trader's sizing and the risk profile's limits as the live path
does: entries fit the equity with their fee, a drawdown halt stops new entries (not exits), and the
symbol cooldown runs on the candles' clock."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

from apps.backtests.trader_sim import TraderSetup, simulate_trader
from apps.strategies.spec import StrategySpec
from apps.traders.cycle import EntryRules, LevelRule, MarketTerms
from apps.traders.risk import MarketLimits, RiskLimits
from tests.backtests.helpers import synthetic
from tests.market.helpers import HOUR

SPEC = StrategySpec.model_validate(
    {
        "timeframe": "1h",
        "markets": ["BTC/USDT:USDT"],
        "indicators": [{"id": "rsi_7", "kind": "rsi", "period": 7}],
        "entry": {"long": {"left": "rsi_7", "op": "<", "right": 30}},
        "exit": {"long": {"left": "rsi_7", "op": ">", "right": 60}},
    }
)
LOOSE = RiskLimits(
    max_leverage=5,
    max_order_notional=D(10**9),
    max_total_notional=D(10**9),
    max_open_positions=5,
    symbol_cooldown_seconds=0,
    risk_per_trade=D(1),  # 100 %: the trader's own size binds
    min_order_notional=D(0),
    max_symbol_notional=None,
    max_asset_notional=None,
    require_stop_loss=False,
    daily_loss_limit=D("0.99"),
    max_drawdown=D("0.99"),
    reset_daily_halt_next_day=True,
)
CANDLES = synthetic(3_000, seed=11, volatility=0.01)


def setup(limits: RiskLimits = LOOSE) -> TraderSetup:
    return TraderSetup(
        spec=SPEC,
        decision_mode="rules",
        rules=EntryRules("fixed", D(100), LevelRule("percent", D(2)), LevelRule("none", D(0))),
        terms=MarketTerms(tick=D("0.0001"), step=D("0.001"), fee_rate=D("0.0004"), slippage=D("0.0002")),
        limits=limits,
        market=MarketLimits("BTC/USDT:USDT", "BTC", D("0.001"), D("0.001"), D(0), 125, False, D("0.0001")),
        leverage=5,
        atr_id="atr_14",
        cash=D(10_000),
        timeframe_ms=HOUR,
    )


def entries(run) -> list:
    return [record for record in run.decisions if record.decision.action.side is not None]


def test_every_entry_spends_at_most_the_equity_with_its_fee() -> None:
    run = simulate_trader(setup(), CANDLES, record=True)
    traded = [record for record in entries(run) if record.outcome == "traded"]
    assert len(traded) == len(run.trades) > 20
    for record, trade in zip(traded, run.trades, strict=True):
        spent = trade.quantity * trade.entry_price * (1 + D("0.0004"))
        assert spent <= record.inputs.equity < spent + D("0.001") * trade.entry_price * 2


def test_a_drawdown_halt_stops_new_entries_but_not_exits() -> None:
    free = simulate_trader(setup(), CANDLES, record=True)
    halted = simulate_trader(setup(replace(LOOSE, max_drawdown=D("0.02"))), CANDLES, record=True)

    assert len(halted.trades) < len(free.trades)
    refused = [record for record in entries(halted) if record.outcome == "rejected"]
    assert refused and all("trading halted: drawdown" in record.note for record in refused)
    first_refusal = refused[0].inputs.candle_open_ms
    assert all(trade.entry_ms < first_refusal for trade in halted.trades)


def test_the_symbol_cooldown_counts_the_candles_clock() -> None:
    cooled = simulate_trader(setup(replace(LOOSE, symbol_cooldown_seconds=24 * 3600)), CANDLES, record=True)

    starts = [trade.entry_ms for trade in cooled.trades]
    assert len(starts) > 5
    assert all(later - earlier >= 24 * HOUR for earlier, later in zip(starts, starts[1:], strict=False))
    assert any("cooldown" in record.note for record in entries(cooled) if record.outcome == "rejected")
