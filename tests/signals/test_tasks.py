"""The worker's tasks end to end, in django-q2's sync mode: collection releases candles, the
evaluations it enqueues record signals, exactly the backtest's."""

from __future__ import annotations

import pytest
from django_q.models import Task

from apps.market.candles_io import datetime_to_ms
from apps.market.models import Candle, MarketFeed
from apps.signals import services
from apps.signals.models import EvaluationCursor, Signal
from apps.signals.tasks import evaluate_strategies, evaluate_strategy
from tests.signals.helpers import enabled_strategy, recorded, stored_market, strategy_reference

pytestmark = pytest.mark.django_db


def test_collection_enqueues_evaluations_that_record_the_backtests_signals(replay_settings, tick) -> None:
    market = stored_market(bars=600)
    strategy = enabled_strategy("bollinger_breakout", cooldown_bars=3)

    tick()

    feed = MarketFeed.objects.get(market=market, timeframe="1m")
    times = list(Candle.objects.filter(market=market).order_by("open_time").values_list("open_time", flat=True))
    assert feed.source == MarketFeed.Source.REPLAY and feed.horizon == times[99]
    evaluations = Task.objects.filter(func="apps.signals.tasks.evaluate_strategy")
    assert [task.args for task in evaluations] == [(strategy.pk, market.pk, "1m")]
    assert all(task.success for task in Task.objects.all())
    assert recorded(strategy) == strategy_reference(strategy, market, after=None)[: len(recorded(strategy))]

    tick(times=5)

    cursor = EvaluationCursor.objects.get(strategy=strategy)
    assert (cursor.cursor, cursor.bars) == (times[-1], 600)
    signals = recorded(strategy)
    assert signals == strategy_reference(strategy, market)
    assert {status for _time, _direction, status in signals} == {"emitted", "suppressed"}
    first = Signal.objects.filter(strategy=strategy).earliest("candle_open_time")
    assert first.strategy_version == 1 and first.timeframe == "1m" and first.market == market
    assert first.inputs["close"] == pytest.approx(float(Candle.objects.get(open_time=first.candle_open_time).close))
    assert set(first.inputs) >= {"open", "high", "low", "close", "volume", "bb_20.upper", "bb_20.lower"}


def test_only_released_candles_are_evaluated(replay_settings, tick) -> None:
    market = stored_market(bars=600)
    strategy = enabled_strategy("bollinger_breakout")

    tick(times=2)

    horizon = MarketFeed.objects.get(market=market).horizon
    assert Signal.objects.filter(strategy=strategy).exists()
    assert not Signal.objects.filter(candle_open_time__gt=horizon).exists()
    assert EvaluationCursor.objects.get(strategy=strategy).cursor == horizon


def test_strategies_that_do_not_use_the_series_are_not_evaluated(replay_settings, tick) -> None:
    market = stored_market(bars=300)
    other_timeframe = enabled_strategy("bollinger_breakout", timeframe="1h")
    other_market = enabled_strategy("bollinger_breakout", markets=["ETH/USDT:USDT"])
    disabled = enabled_strategy("bollinger_breakout", name="off")
    disabled.enabled = False
    disabled.save()

    tick(times=3)

    assert not Task.objects.filter(func="apps.signals.tasks.evaluate_strategy").exists()
    assert not Signal.objects.exists()
    for strategy in (other_timeframe, other_market, disabled):
        result = services.strategy_evaluate(strategy_id=strategy.pk, market_id=market.pk, timeframe="1m")
        assert result.outcome.startswith("skipped"), result


def test_the_sweep_catches_up_a_strategy_enabled_after_the_replay_ended(
    replay_settings, tick, django_capture_on_commit_callbacks
) -> None:
    replay_settings.REPLAY_SPEED = 1000
    market = stored_market(bars=400)
    tick()
    assert MarketFeed.objects.get(market=market).state == MarketFeed.State.STOPPED
    strategy = enabled_strategy("rsi_mean_reversion", cooldown_bars=2)

    tick()  # the feed stands still: collection enqueues nothing
    assert not Signal.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert evaluate_strategies() == "1 evaluation enqueued"

    assert recorded(strategy) == strategy_reference(strategy, market)
    assert evaluate_strategies() == "0 evaluations enqueued"


def test_evaluating_twice_records_nothing_new(replay_settings, tick) -> None:
    market = stored_market(bars=300)
    strategy = enabled_strategy("bollinger_breakout")
    tick(times=3)
    before = recorded(strategy)

    again = evaluate_strategy(strategy.pk, market.pk, "1m")

    assert "up to date" in again
    assert recorded(strategy) == before


def test_an_hourly_strategy_on_an_hourly_feed(replay_settings, tick) -> None:
    market = stored_market(bars=120, timeframe="1h")
    strategy = enabled_strategy("bollinger_breakout", timeframe="1h")
    tick(times=2)
    assert all(datetime_to_ms(open_time) % 3_600_000 == 0 for open_time, _d, _s in recorded(strategy))
    assert recorded(strategy) == strategy_reference(strategy, market)
