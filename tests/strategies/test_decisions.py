"""Bar directions and the cooldown, on hand-made triggers."""

from __future__ import annotations

import numpy as np

from apps.strategies.decisions import EXIT, LONG, NONE, SHORT, Cooldown, Direction, bar_directions, signals_for
from apps.strategies.triggers import Triggers


def bools(text: str) -> np.ndarray:
    return np.array([ch == "x" for ch in text])


def test_exit_wins_and_contradictory_entries_give_nothing() -> None:
    triggers = Triggers(
        long_entry=bools("x.x.x"), short_entry=bools("..xx."), long_exit=bools("....x"), short_exit=bools(".....")
    )
    assert bar_directions(triggers).tolist() == [LONG, NONE, NONE, SHORT, EXIT]


def test_cooldown_suppresses_repeats_of_the_same_direction_only() -> None:
    directions = np.array([LONG, LONG, SHORT, LONG, NONE, LONG], dtype=np.int8)
    signals = signals_for(directions, cooldown_bars=2)
    assert [(s.bar_index, s.direction, s.suppressed) for s in signals] == [
        (0, Direction.LONG, False),
        (1, Direction.LONG, True),
        (2, Direction.SHORT, False),
        (3, Direction.LONG, False),
        (5, Direction.LONG, True),
    ]


def test_a_suppressed_signal_does_not_extend_the_cooldown() -> None:
    cooldown = Cooldown(2)
    assert [cooldown.accept(bar_index=i, code=LONG) for i in (0, 1, 2, 3)] == [True, False, False, True]


def test_zero_cooldown_keeps_every_signal() -> None:
    assert not any(s.suppressed for s in signals_for(np.array([EXIT, EXIT, EXIT], dtype=np.int8), cooldown_bars=0))
