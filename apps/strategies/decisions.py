"""From triggers to signals: one direction per bar, then the cooldown (pure; no Django).

The worker (one candle at a time) and the backtester (all bars) both pass every bar that has
a direction through `Cooldown.accept`, in order, so both emit exactly the same signals.

Direction of a bar: `exit` when any exit rule fires (closing risk wins over opening it);
otherwise `long` or `short` when exactly one entry rule fires; nothing when both entries fire
(contradictory rules are not a signal).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from apps.strategies.triggers import Triggers


class Direction(StrEnum):
    LONG = "long"
    SHORT = "short"
    EXIT = "exit"


NONE, LONG, SHORT, EXIT = 0, 1, 2, 3
CODES = {LONG: Direction.LONG, SHORT: Direction.SHORT, EXIT: Direction.EXIT}


def bar_directions(triggers: Triggers) -> np.ndarray:
    """int8 per bar: NONE, LONG, SHORT or EXIT."""
    exits = triggers.long_exit | triggers.short_exit
    codes = np.zeros(len(exits), dtype=np.int8)
    codes[triggers.long_entry & ~triggers.short_entry] = LONG
    codes[triggers.short_entry & ~triggers.long_entry] = SHORT
    codes[exits] = EXIT
    return codes


@dataclass
class Cooldown:
    """After a signal, the same direction is suppressed for `bars` bars (counted, not dropped)."""

    bars: int
    last_bar: dict[int, int] = field(default_factory=dict)

    def accept(self, *, bar_index: int, code: int) -> bool:
        previous = self.last_bar.get(code)
        if previous is not None and bar_index - previous <= self.bars:
            return False
        self.last_bar[code] = bar_index
        return True


@dataclass(frozen=True)
class BarSignal:
    bar_index: int
    direction: Direction
    suppressed: bool


def signals_for(directions: np.ndarray, *, cooldown_bars: int) -> list[BarSignal]:
    cooldown = Cooldown(cooldown_bars)
    return [
        BarSignal(
            int(index),
            CODES[int(directions[index])],
            not cooldown.accept(bar_index=int(index), code=int(directions[index])),
        )
        for index in np.flatnonzero(directions)
    ]
