"""The database invariants of signals, and the cooldown's suppressions being kept and counted."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from apps.signals.models import Signal
from apps.signals.selectors import signal_counts, signal_list
from tests.factories import MarketFactory
from tests.signals.helpers import enabled_strategy, recorded, stored_market, strategy_reference

pytestmark = pytest.mark.django_db

WHEN = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)


def make_signal(strategy, market, **fields) -> Signal:
    values = {
        "strategy": strategy,
        "strategy_version": 1,
        "market": market,
        "timeframe": "1m",
        "candle_open_time": WHEN,
        "direction": Signal.Direction.LONG,
        "status": Signal.Status.EMITTED,
        "inputs": {"close": 100.0, "rsi_14": None},
    }
    return Signal.objects.create(**{**values, **fields})


def test_one_signal_per_strategy_market_timeframe_and_candle() -> None:
    strategy = enabled_strategy("rsi_mean_reversion")
    market = MarketFactory()
    make_signal(strategy, market)

    # Not even a different version or direction may record the same bar twice.
    with pytest.raises(IntegrityError), transaction.atomic():
        make_signal(strategy, market, strategy_version=2, direction=Signal.Direction.EXIT)

    make_signal(strategy, market, timeframe="1h")
    make_signal(strategy, MarketFactory(symbol="ETH/USDT:USDT", base="ETH"))
    make_signal(enabled_strategy("ema_trend"), market)
    assert Signal.objects.count() == 4


def test_conflicting_inserts_are_already_recorded_not_errors() -> None:
    strategy = enabled_strategy("rsi_mean_reversion")
    market = MarketFactory()
    make_signal(strategy, market)
    duplicate = Signal(
        strategy=strategy,
        strategy_version=1,
        market=market,
        timeframe="1m",
        candle_open_time=WHEN,
        direction="long",
        status="emitted",
    )

    Signal.objects.bulk_create([duplicate], ignore_conflicts=True)

    assert Signal.objects.count() == 1


@pytest.mark.parametrize(
    "fields",
    [{"direction": "up"}, {"status": "lost"}, {"strategy_version": 0}],
)
def test_check_constraints(fields) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        make_signal(enabled_strategy("rsi_mean_reversion"), MarketFactory(), **fields)


def test_a_strategy_with_signals_cannot_be_deleted() -> None:
    strategy = enabled_strategy("rsi_mean_reversion")
    make_signal(strategy, MarketFactory())
    with pytest.raises(ProtectedError):
        strategy.delete()


def test_cooldown_suppressions_are_recorded_and_counted(replay_settings, tick) -> None:
    market = stored_market(bars=500)
    strict = enabled_strategy("bollinger_breakout", cooldown_bars=20, name="strict")
    loose = enabled_strategy("bollinger_breakout", cooldown_bars=0, name="loose")

    tick(times=5)

    strict_signals = recorded(strict)
    assert strict_signals == strategy_reference(strict, market)
    suppressed = sum(1 for _t, _d, status in strict_signals if status == Signal.Status.SUPPRESSED)
    assert suppressed > 0
    # The same bars fire for both; the cooldown changes the status only, never drops a signal.
    assert [row[:2] for row in strict_signals] == [row[:2] for row in recorded(loose)]
    counts = {row.strategy_name: (row.emitted, row.suppressed) for row in signal_counts(signals=signal_list())}
    assert counts == {
        "strict": (len(strict_signals) - suppressed, suppressed),
        "loose": (len(strict_signals), 0),
    }
