from __future__ import annotations

import pytest

from apps.news.sentiment.base import Label, Sentiment
from apps.news.sentiment.lexicon import (
    VADER_NEUTRAL_BAND,
    LexiconAnalyzer,
    confidence_for,
    label_for,
    lexicon_analyzer,
    vader_analyzer,
)
from apps.news.sentiment.terms import PHRASES, TERMS_VERSION, WORDS


@pytest.fixture(scope="module")
def lexicon() -> LexiconAnalyzer:
    return lexicon_analyzer()


@pytest.mark.parametrize("written", ["all-time high", "all time high", "All-Time High", "alltime-high"])
def test_a_phrase_becomes_one_token_however_it_is_written(lexicon: LexiconAnalyzer, written: str) -> None:
    assert lexicon.prepare(f"Bitcoin hits {written} today") == "Bitcoin hits all_time_high today"


def test_the_longest_phrase_wins_and_words_inside_other_words_are_left(lexicon: LexiconAnalyzer) -> None:
    assert lexicon.prepare("ETH at all-time highs") == "ETH at all_time_highs"
    assert lexicon.prepare("Upsell offers") == "Upsell offers"


@pytest.mark.parametrize(
    ("headline", "label"),
    [
        ("Bitcoin hits all-time high as ETF inflows surge", Label.POSITIVE),
        ("Token crashes after rug pull", Label.NEGATIVE),
        ("Market sell-off deepens", Label.NEGATIVE),
        ("DeFi protocol exploited, funds drained", Label.NEGATIVE),
        ("Exchange announces new listing schedule", Label.NEUTRAL),
    ],
)
def test_crypto_headlines_get_their_label(lexicon: LexiconAnalyzer, headline: str, label: Label) -> None:
    assert lexicon.score(headline).label == label


def test_plain_vader_misses_the_crypto_terms_the_extension_scores(lexicon: LexiconAnalyzer) -> None:
    headline = "Token crashes after rug pull"

    assert vader_analyzer().score(headline).label == Label.NEUTRAL
    assert lexicon.score(headline).score < -VADER_NEUTRAL_BAND


def test_the_neutral_band_decides_the_label_and_the_confidence() -> None:
    assert label_for(0.049, 0.05) == Label.NEUTRAL
    assert label_for(0.05, 0.05) == Label.POSITIVE
    assert label_for(-0.05, 0.05) == Label.NEGATIVE
    assert confidence_for(0.0, 0.05) == 1.0
    assert confidence_for(0.025, 0.05) == pytest.approx(0.5)
    assert confidence_for(-0.8, 0.05) == pytest.approx(0.8)


def test_a_batch_gives_one_sentiment_per_headline_in_order(lexicon: LexiconAnalyzer) -> None:
    headlines = ["Bitcoin rallies", "Exchange hacked", "Bitcoin trades near $60K"]

    results = lexicon.score_batch(headlines)

    assert [r.label for r in results] == [Label.POSITIVE, Label.NEGATIVE, Label.NEUTRAL]
    assert all(isinstance(r, Sentiment) for r in results)


def test_the_version_names_vader_the_terms_and_the_band() -> None:
    assert lexicon_analyzer(neutral_band=0.2).version == f"vader-3.3.2+{TERMS_VERSION}/band-0.2"
    assert vader_analyzer().version == "vader-3.3.2+plain/band-0.05"
    with pytest.raises(ValueError, match="neutral band"):
        lexicon_analyzer(neutral_band=0)


def test_terms_are_in_vaders_scale_and_phrases_have_several_words() -> None:
    assert all(-4 <= v <= 4 for v in [*WORDS.values(), *PHRASES.values()])
    assert all(" " not in word for word in WORDS)
    assert all(len(phrase.split()) > 1 and phrase == phrase.lower() for phrase in PHRASES)


def test_a_sentiment_outside_its_ranges_is_refused() -> None:
    with pytest.raises(ValueError, match="score"):
        Sentiment(score=1.5, label=Label.POSITIVE, confidence=0.5)
    with pytest.raises(ValueError, match="confidence"):
        Sentiment(score=0.5, label=Label.POSITIVE, confidence=-0.1)
