"""VADER, plain or extended with crypto and market terms, with a neutral band.

VADER's compound score is already in [-1, 1]. Within the neutral band (|compound| < band) the
label is neutral; outside it, the sign decides. Confidence is how far the compound lies from the
band's edge, on its own side: |compound| for a polar label, 1 - |compound| / band for neutral.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from importlib.metadata import version as package_version

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from apps.news.sentiment.base import Analyzer, Label, Sentiment
from apps.news.sentiment.terms import PHRASES, TERMS_VERSION, WORDS

# The threshold VADER's authors recommend for calling a compound score neutral.
VADER_NEUTRAL_BAND = 0.05


def phrase_token(phrase: str) -> str:
    """The single token a multi-word term becomes: "all time high" -> "all_time_high"."""
    return phrase.replace(" ", "_")


def phrase_key(text: str) -> str:
    """A phrase however it is written, without its separators: "All-Time high" -> "alltimehigh"."""
    return re.sub(r"[\s-]+", "", text.lower())


def phrase_pattern(phrases: Sequence[str]) -> re.Pattern[str] | None:
    """Matches any of `phrases` as whole words, with spaces, hyphens or nothing between the words;
    longest first, so "all time highs" wins over "all time high"."""
    if not phrases:
        return None
    alternatives = (r"[\s-]*".join(map(re.escape, p.split())) for p in sorted(phrases, key=len, reverse=True))
    return re.compile(r"\b(?:" + "|".join(alternatives) + r")\b", re.IGNORECASE)


def label_for(compound: float, neutral_band: float) -> Label:
    if abs(compound) < neutral_band:
        return Label.NEUTRAL
    return Label.POSITIVE if compound > 0 else Label.NEGATIVE


def confidence_for(compound: float, neutral_band: float) -> float:
    if abs(compound) < neutral_band:
        return 1.0 - abs(compound) / neutral_band
    return abs(compound)


class LexiconAnalyzer(Analyzer):
    """VADER with `words` added to (or overriding) its lexicon and `phrases` scored as one token each."""

    def __init__(
        self,
        *,
        name: str,
        terms_version: str,
        words: Mapping[str, float],
        phrases: Mapping[str, float],
        neutral_band: float = VADER_NEUTRAL_BAND,
    ) -> None:
        if not 0.0 < neutral_band < 1.0:
            raise ValueError(f"neutral band {neutral_band} is outside (0, 1)")
        self.name = name
        self.version = f"vader-{package_version('vaderSentiment')}+{terms_version}/band-{neutral_band:g}"
        self.neutral_band = neutral_band
        self._vader = SentimentIntensityAnalyzer()
        self._vader.lexicon.update(words)
        self._vader.lexicon.update({phrase_token(p): v for p, v in phrases.items()})
        self._tokens = {phrase_key(p): phrase_token(p) for p in phrases}
        self._pattern = phrase_pattern(list(phrases))

    def prepare(self, headline: str) -> str:
        """The headline with each multi-word term rewritten into its lexicon token."""
        if self._pattern is None:
            return headline
        return self._pattern.sub(lambda match: self._tokens[phrase_key(match.group(0))], headline)

    def score_batch(self, headlines: Sequence[str]) -> list[Sentiment]:
        return [self._sentiment(self._vader.polarity_scores(self.prepare(h))["compound"]) for h in headlines]

    def _sentiment(self, compound: float) -> Sentiment:
        return Sentiment(
            score=compound,
            label=label_for(compound, self.neutral_band),
            confidence=confidence_for(compound, self.neutral_band),
        )


def lexicon_analyzer(*, neutral_band: float = VADER_NEUTRAL_BAND) -> LexiconAnalyzer:
    """The default analyzer: VADER extended with the crypto and market terms."""
    return LexiconAnalyzer(
        name="lexicon", terms_version=TERMS_VERSION, words=WORDS, phrases=PHRASES, neutral_band=neutral_band
    )


def vader_analyzer(*, neutral_band: float = VADER_NEUTRAL_BAND) -> LexiconAnalyzer:
    """Plain VADER, the baseline the extension is measured against."""
    return LexiconAnalyzer(name="vader", terms_version="plain", words={}, phrases={}, neutral_band=neutral_band)
