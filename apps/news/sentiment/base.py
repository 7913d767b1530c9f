"""The analyzer interface: what every sentiment analyzer takes and returns."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class Label(StrEnum):
    NEGATIVE = "negative"
    NEUTRAL = "neutral"
    POSITIVE = "positive"


class AnalyzerUnavailable(RuntimeError):
    """The analyzer cannot run here (a missing optional package or model file); the message says how to fix it."""


@dataclass(frozen=True, slots=True)
class Sentiment:
    """One headline's sentiment: `score` in [-1, 1] (its sign agrees with `label`), `confidence` in [0, 1]."""

    score: float
    label: Label
    confidence: float

    def __post_init__(self) -> None:
        if not -1.0 <= self.score <= 1.0:
            raise ValueError(f"score {self.score} is outside [-1, 1]")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence {self.confidence} is outside [0, 1]")


class Analyzer(ABC):
    """Scores headlines. `name` picks the analyzer; `version` changes whenever its scores could."""

    name: str
    version: str

    @abstractmethod
    def score_batch(self, headlines: Sequence[str]) -> list[Sentiment]:
        """One Sentiment per headline, in the same order."""

    def score(self, headline: str) -> Sentiment:
        return self.score_batch([headline])[0]
