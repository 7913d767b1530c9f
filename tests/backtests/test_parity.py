"""The backtest's signals are the strategies app's: signals_for(bar_directions(compute_triggers(...)),
cooldown_bars=spec.cooldown_bars) without the suppressed ones. And a run over real candles."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from apps.backtests.engine import END_OPEN, EXIT, LONG, SHORT, BacktestParams, run_backtest, signal_codes
from apps.backtests.metrics import compute_metrics
from apps.market.arrays import CandleArrays
from apps.strategies.decisions import CODES, bar_directions, signals_for
from apps.strategies.presets import preset_spec, preset_spec_data
from apps.strategies.series import compute_triggers
from apps.strategies.spec import StrategySpec
from tests.backtests.helpers import synthetic
from tests.conftest import shared_data_path

BTC_1M = ("ohlcv", "binance_BTCUSDT_1m_2023-03-16_2023-05-01.freqtrade.json")


def spec_with(name: str, *, timeframe: str, cooldown_bars: int = 0) -> StrategySpec:
    return StrategySpec.model_validate({**preset_spec_data(name, timeframe=timeframe), "cooldown_bars": cooldown_bars})


def reference_signals(spec: StrategySpec, candles: CandleArrays) -> list[tuple[int, str]]:
    directions = bar_directions(compute_triggers(spec, candles))
    return [
        (signal.bar_index, str(signal.direction))
        for signal in signals_for(directions, cooldown_bars=spec.cooldown_bars)
        if not signal.suppressed
    ]


def emitted_signals(codes: np.ndarray) -> list[tuple[int, str]]:
    return [(int(index), str(CODES[int(codes[index])])) for index in np.flatnonzero(codes)]


def check_trades_follow_signals(result) -> None:
    """Every entry fills on the bar after an entry signal of its side; every signal exit on the
    bar after an exit signal."""
    codes, trades = result.signal_codes, result.trades
    expected = np.where(trades.side == 1, LONG, SHORT)
    assert (codes[trades.entry_bar - 1] == expected).all()
    by_signal = trades.reason == 0
    assert (codes[trades.exit_bar[by_signal] - 1] == EXIT).all()


@pytest.mark.parametrize(
    ("name", "cooldown"),
    [("rsi_mean_reversion", 0), ("rsi_mean_reversion", 5), ("ema_trend", 3), ("bollinger_breakout", 10)],
)
def test_emitted_signal_bars_equal_signals_for(name: str, cooldown: int) -> None:
    candles = synthetic(20_000, seed=2, volatility=0.004)
    spec = spec_with(name, timeframe="1h", cooldown_bars=cooldown)

    codes = signal_codes(spec, candles)
    reference = reference_signals(spec, candles)

    assert emitted_signals(codes) == reference
    assert len(reference) > 20
    result = run_backtest(spec, candles, BacktestParams(sl_pct=2, tp_pct=4))
    assert (result.signal_codes == codes).all()
    check_trades_follow_signals(result)


@pytest.mark.shared_data
def test_real_btcusdt_1m_run() -> None:
    """Binance BTCUSDT 1m, 2023-03-16 to 2023-05-01 (66,087 bars, one gap): RSI mean reversion
    with a 1 % stop and a 2 % target."""
    path = shared_data_path(*BTC_1M)
    candles = CandleArrays.from_rows(np.array(json.loads(Path(path).read_text()), dtype=np.float64))
    spec = preset_spec("rsi_mean_reversion", timeframe="1m")

    result = run_backtest(spec, candles, BacktestParams(sl_pct=1, tp_pct=2))
    metrics = compute_metrics(result, timeframe_ms=60_000)

    assert len(candles) == 66_087
    assert emitted_signals(result.signal_codes) == reference_signals(spec, candles)
    check_trades_follow_signals(result)
    # RSI(14) < 30 happens a few times a day on 1m bars; each trade waits for RSI > 70 or a level.
    assert 100 < metrics["trade_count"] < 5_000
    assert np.isfinite(result.equity).all()
    assert result.final_equity == pytest.approx(10_000 + result.trades.pnl.sum(), rel=1e-12)
    assert 0 < metrics["exposure"] < 1
    assert -1 < metrics["max_drawdown"] < 0
    assert (result.trades.reason[:-1] != END_OPEN).all()
