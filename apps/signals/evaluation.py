"""One strategy's live evaluation over one candle series, a candle at a time (pure; no Django).

`LiveEvaluation` is what a worker keeps in memory per (strategy version, market, timeframe):
the StreamingEvaluator with its indicator state, the Cooldown, and how many candles it has
seen. It must be fed every stored candle from the first one, in order; then the directions and
suppressions it reports are exactly those of the backtest over the same candles
(`signals_for(bar_directions(compute_triggers(...)))`), because both run the same indicator
steps, the same trigger code and the same Cooldown with the same bar indexes.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np

from apps.market.arrays import CandleArrays
from apps.strategies.decisions import CODES, Cooldown, Direction, bar_directions
from apps.strategies.series import MISSING_SENTIMENT, Bar, StreamingEvaluator
from apps.strategies.spec import StrategySpec

PRICE_FIELDS = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True)
class BarDecision:
    """A candle that produced a direction; `suppressed` when the cooldown held it back."""

    bar_index: int
    open_time_ms: int
    direction: Direction
    suppressed: bool
    inputs: dict[str, float | None]


def json_inputs(values: dict[str, float]) -> dict[str, float | None]:
    """Indicator values as JSON can hold them: NaN (no value yet) and infinities become null."""
    return {name: (float(value) if math.isfinite(value) else None) for name, value in values.items()}


class LiveEvaluation:
    def __init__(self, spec: StrategySpec, *, cooldown_bars: int) -> None:
        self.spec = spec
        self.cooldown_bars = cooldown_bars
        self._evaluator = StreamingEvaluator(spec)
        self._cooldown = Cooldown(cooldown_bars)
        self.bars = 0
        self.last_open_time_ms: int | None = None
        # The accepted (not cooled-down) direction of the last candle fed, None without one: a
        # caller asking again about that candle (a retried task) finds it here.
        self.last_signal: Direction | None = None

    @property
    def values(self) -> dict[str, float | None]:
        """Price and indicator values on the last candle fed (null: no value yet)."""
        return json_inputs(self._evaluator.last_values)

    def feed(self, candles: CandleArrays, *, sentiment: np.ndarray | None = None) -> list[BarDecision]:
        """Evaluate `candles` (the next ones after those already fed, oldest first); `sentiment` is
        the strategies' input at each candle's close (NaN or None: missing)."""
        if sentiment is None:
            sentiment = np.full(len(candles), MISSING_SENTIMENT)
        if len(sentiment) != len(candles):
            raise ValueError(f"{len(sentiment)} sentiment values for {len(candles)} candles")
        decisions: list[BarDecision] = []
        columns = (
            candles.open_time.tolist(),
            *(candles.column(name).tolist() for name in PRICE_FIELDS),
            np.asarray(sentiment, dtype=np.float64).tolist(),
        )
        for open_time, open_, high, low, close, volume, mood in zip(*columns, strict=True):
            if self.last_open_time_ms is not None and open_time <= self.last_open_time_ms:
                raise ValueError(f"candle {open_time} is not after the last one fed ({self.last_open_time_ms})")
            triggers = self._evaluator.update(Bar(int(open_time), open_, high, low, close, volume), sentiment=mood)
            code = int(bar_directions(triggers)[0])
            index = self.bars
            self.bars += 1
            self.last_open_time_ms = int(open_time)
            self.last_signal = None
            if code:
                # Every directed bar goes through the cooldown, recorded or not, as in signals_for.
                accepted = self._cooldown.accept(bar_index=index, code=code)
                self.last_signal = CODES[code] if accepted else None
                decisions.append(
                    BarDecision(
                        bar_index=index,
                        open_time_ms=int(open_time),
                        direction=CODES[code],
                        suppressed=not accepted,
                        inputs=json_inputs(self._evaluator.last_values),
                    )
                )
        return decisions


class EvaluationCache:
    """The live evaluations one worker process holds, least recently used dropped first.

    A process that lacks an entry (a fresh or recycled worker) rebuilds it from the stored
    candles, so the cache only saves time; it never decides anything.
    """

    def __init__(self, *, max_entries: int = 256) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, LiveEvaluation] = OrderedDict()

    def get(self, key: Hashable) -> LiveEvaluation | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, key: Hashable, entry: LiveEvaluation) -> None:
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def discard(self, key: Hashable) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
