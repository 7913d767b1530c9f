"""Worker restarts, several worker processes, a crash between evaluating and committing, and a
new strategy version: each must record what one uninterrupted run records, which is the backtest."""

from __future__ import annotations

import numpy as np
import pytest
from django_q.models import Task

from apps.market.candles_io import CandleSeries, ms_to_datetime
from apps.market.models import MarketFeed
from apps.market.selectors import candle_arrays
from apps.market.services import candle_series_import
from apps.signals import services
from apps.signals.evaluation import EvaluationCache
from apps.signals.models import EvaluationCursor, Signal
from apps.strategies.models import Strategy
from apps.strategies.presets import preset_spec_data
from tests.factories import MarketFactory
from tests.signals.helpers import (
    enabled_strategy,
    recorded,
    reference,
    stored_market,
    strategy_reference,
    synthetic_series,
)

pytestmark = pytest.mark.django_db


def test_a_restarted_worker_continues_with_the_same_signals(replay_settings, tick) -> None:
    market = stored_market(bars=700)
    strategy = enabled_strategy("rsi_mean_reversion", cooldown_bars=4)
    tick()
    assert len(services.EVALUATIONS) == 1

    for _ in range(6):
        services.EVALUATIONS.clear()  # the worker process restarted: nothing in memory
        tick()

    signals = recorded(strategy)
    assert signals == strategy_reference(strategy, market)
    assert any(status == Signal.Status.SUPPRESSED for _t, _d, status in signals)
    results = Task.objects.filter(func="apps.signals.tasks.evaluate_strategy").order_by("started")
    # Each restarted worker replayed the candles evaluated before, then evaluated the 100 new ones.
    assert [result.result.split("; ")[1] for result in results] == [
        f"100 candles evaluated, {count} signals recorded, {replayed} replayed"
        for count, replayed in zip(_per_tick_counts(signals, market), range(0, 700, 100), strict=True)
    ]


def test_two_worker_processes_taking_turns_agree(replay_settings, tick, monkeypatch) -> None:
    """Tasks land on either process; the one that lags feeds only the candles it missed."""
    market = stored_market(bars=800)
    strategy = enabled_strategy("ema_trend", cooldown_bars=0, name="ema")
    other = enabled_strategy("bollinger_breakout", cooldown_bars=5, name="bb")
    processes = [EvaluationCache(), EvaluationCache()]
    replayed = []
    original = services._live_evaluation

    def counting(**kwargs):
        live, count = original(**kwargs)
        replayed.append(count)
        return live, count

    monkeypatch.setattr(services, "_live_evaluation", counting)
    for turn in range(8):
        monkeypatch.setattr(services, "EVALUATIONS", processes[turn % 2])
        tick()

    assert recorded(strategy) == strategy_reference(strategy, market)
    assert recorded(other) == strategy_reference(other, market)
    # First turn of each process: nothing / 100 candles to rebuild; afterwards 100 missed candles each.
    assert replayed == [0, 0, 100, 100] + [100] * 12


def test_a_crash_before_the_commit_loses_nothing(replay_settings, tick, monkeypatch) -> None:
    market = stored_market(bars=500)
    strategy = enabled_strategy("bollinger_breakout", cooldown_bars=2)
    tick(times=2)
    original = services._evaluation_commit

    def crash(**kwargs):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(services, "_evaluation_commit", crash)
    with pytest.raises(RuntimeError, match="worker killed"):
        tick()
    monkeypatch.setattr(services, "_evaluation_commit", original)
    # The in-memory evaluation is now ahead of the stored cursor; it must be rebuilt, not reused.
    assert EvaluationCursor.objects.get(strategy=strategy).bars == 200

    tick(times=3)

    assert recorded(strategy) == strategy_reference(strategy, market)


def test_two_workers_racing_on_one_evaluation_record_it_once(replay_settings, tick, monkeypatch) -> None:
    """Collection and the sweep can enqueue the same evaluation; two workers then run it at once.
    Here the second worker commits while the first is between evaluating and committing."""
    market = stored_market(bars=300)
    strategy = enabled_strategy("bollinger_breakout", cooldown_bars=2)
    tick()
    original = services._evaluation_commit
    outcomes = []

    def other_worker_first(**kwargs):
        if not outcomes:
            with monkeypatch.context() as other:
                other.setattr(services, "EVALUATIONS", EvaluationCache())
                other.setattr(services, "_evaluation_commit", original)
                other_run = services.strategy_evaluate(strategy_id=strategy.pk, market_id=market.pk, timeframe="1m")
                outcomes.append(other_run)
        return original(**kwargs)

    monkeypatch.setattr(services, "_evaluation_commit", other_worker_first)
    MarketFeed.objects.update(horizon=market.candles.latest("open_time").open_time)
    first = services.strategy_evaluate(strategy_id=strategy.pk, market_id=market.pk, timeframe="1m")

    assert first.outcome.startswith("superseded") and first.recorded == 0
    assert outcomes[0].outcome == "evaluated" and outcomes[0].bars == 200
    assert recorded(strategy) == strategy_reference(strategy, market)


def test_candles_inserted_before_the_cursor_rebuild_the_state(replay_settings, tick, caplog) -> None:
    """A gap filled after the fact changes the history: the evaluation rebuilds from what is stored
    now, so later candles are decided as a fresh backtest over that history decides them."""
    series = synthetic_series(bars=400)
    keep = np.ones(400, dtype=bool)
    keep[50:60] = False  # a gap, filled later by a second import
    market = MarketFactory()
    gapped = CandleSeries(series.open_time_ms[keep], series.ohlcv[keep], "t")
    candle_series_import(market=market, timeframe="1m", series=gapped, source="t")
    strategy = enabled_strategy("rsi_mean_reversion", cooldown_bars=3)
    tick(times=2)
    switch = EvaluationCursor.objects.get(strategy=strategy).cursor
    before = recorded(strategy)
    candle_series_import(market=market, timeframe="1m", series=series, source="t2")

    with caplog.at_level("WARNING", logger="apps.signals.services"):
        tick(times=3)

    assert "changed" in caplog.text
    assert [row for row in recorded(strategy) if row[0] <= switch] == before
    assert [row for row in recorded(strategy) if row[0] > switch] == strategy_reference(strategy, market, after=switch)


def test_a_lost_cursor_does_not_duplicate_signals(replay_settings, tick) -> None:
    market = stored_market(bars=400)
    strategy = enabled_strategy("bollinger_breakout")
    tick(times=4)
    before = recorded(strategy)
    assert before

    EvaluationCursor.objects.all().delete()
    services.EVALUATIONS.clear()
    result = services.strategy_evaluate(strategy_id=strategy.pk, market_id=market.pk, timeframe="1m")

    assert result.bars == 400 and result.recorded == 0  # every signal "already recorded"
    assert recorded(strategy) == before


def test_a_new_version_restarts_from_the_first_candle_and_takes_over_after_the_old_one(replay_settings, tick) -> None:
    market = stored_market(bars=900)
    strategy = enabled_strategy("rsi_mean_reversion", cooldown_bars=3)
    tick(times=4)
    v1 = recorded(strategy, version=1)
    switch = EvaluationCursor.objects.get(strategy=strategy).cursor
    assert v1 == strategy_reference(strategy, market)[: len(v1)]

    new_spec = {**preset_spec_data("bollinger_breakout", timeframe="1m"), "cooldown_bars": 1}
    strategy.spec, strategy.version, strategy.cooldown_bars = new_spec, 2, 1
    strategy.save()
    tick(times=5)

    assert recorded(strategy, version=1) == v1  # the old version's signals are kept as they were
    v2 = recorded(strategy, version=2)
    # The new rules saw every candle from the first (indicators and cooldown warmed up on the
    # bars v1 decided), but record only the bars after v1's last one.
    assert v2 == reference(spec=strategy.parsed_spec(), cooldown_bars=1, market=market, timeframe="1m", after=switch)
    assert v2 and min(open_time for open_time, _d, _s in v2) > switch
    cursor = EvaluationCursor.objects.get(strategy=strategy)
    assert (cursor.strategy_version, cursor.live_from, cursor.bars) == (2, switch, 900)


def test_a_commit_for_a_replaced_version_is_rolled_back(replay_settings, tick) -> None:
    market = stored_market(bars=300)
    strategy = enabled_strategy("bollinger_breakout")
    tick()
    cursor = EvaluationCursor.objects.get(strategy=strategy)
    live = services.EVALUATIONS.get(services._cache_key(cursor))
    decisions = live.feed(candle_arrays(market=market, timeframe="1m", start=cursor.cursor + services.ONE_MS))
    assert decisions
    Strategy.objects.filter(pk=strategy.pk).update(version=2)  # new rules saved while v1 was evaluating

    committed = services._evaluation_commit(
        cursor=cursor, new_cursor=ms_to_datetime(live.last_open_time_ms), bars=live.bars, decisions=decisions
    )

    assert committed is None
    cursor.refresh_from_db()
    assert cursor.bars == 100
    assert not Signal.objects.filter(candle_open_time__gt=cursor.cursor).exists()


def _per_tick_counts(signals, market) -> list[int]:
    times = list(market.candles.filter(timeframe="1m").order_by("open_time").values_list("open_time", flat=True))
    return [sum(1 for t, _d, _s in signals if times[start] <= t <= times[start + 99]) for start in range(0, 700, 100)]
