from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from django.conf import settings

from apps.news.sentiment.base import Analyzer, Label, Sentiment
from apps.news.sentiment.evaluation import (
    EvaluationError,
    EvaluationReport,
    evaluate,
    format_report,
    parse_label,
    read_labelled,
)
from apps.news.sentiment.lexicon import lexicon_analyzer, vader_analyzer

# Headlines the project wrote itself for this evaluation (not taken from any data set).
OWN_HEADLINES = Path(settings.BASE_DIR) / "fixtures" / "sentiment_headlines.csv"


class KeywordAnalyzer(Analyzer):
    """Positive when "up" is in the headline, negative for "down", else neutral."""

    name = "keyword"
    version = "1"

    def score_batch(self, headlines: Sequence[str]) -> list[Sentiment]:
        return [self._one(h) for h in headlines]

    def _one(self, headline: str) -> Sentiment:
        if "up" in headline:
            return Sentiment(score=1.0, label=Label.POSITIVE, confidence=1.0)
        if "down" in headline:
            return Sentiment(score=-1.0, label=Label.NEGATIVE, confidence=1.0)
        return Sentiment(score=0.0, label=Label.NEUTRAL, confidence=1.0)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "labelled.csv"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("raw", "label"),
    [
        ("negative", Label.NEGATIVE),
        (" NEG ", Label.NEGATIVE),
        ("-1", Label.NEGATIVE),
        ("Bearish", Label.NEGATIVE),
        ("neu", Label.NEUTRAL),
        ("0", Label.NEUTRAL),
        ("Positive", Label.POSITIVE),
        ("1", Label.POSITIVE),
        ("bullish", Label.POSITIVE),
        ("mixed", None),
    ],
)
def test_common_spellings_of_the_labels_are_read(raw: str, label: Label | None) -> None:
    assert parse_label(raw) == label


def test_a_labelled_file_is_read_by_its_named_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "id,title,sentiment\n1,BTC up,bullish\n2,ETH down,-1\n")

    rows = read_labelled(path, text_col="title", label_col="sentiment")

    assert [(r.text, r.label) for r in rows] == [("BTC up", Label.POSITIVE), ("ETH down", Label.NEGATIVE)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        ("title,sentiment\n", "has a header but no rows"),
        ("headline,sentiment\nBTC up,pos\n", "has no column 'title'; its columns: ['headline', 'sentiment']"),
        (
            "title,sentiment\nBTC up,pos\nETH down,meh\nSOL flat,\n",
            "2 unknown label(s) in column 'sentiment' (line 3: 'meh', line 4: '')",
        ),
    ],
)
def test_a_file_that_cannot_be_evaluated_says_why(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(EvaluationError) as error:
        read_labelled(write(tmp_path, text), text_col="title", label_col="sentiment")

    assert message in str(error.value)


def test_evaluate_counts_each_prediction_in_its_cell(tmp_path: Path) -> None:
    path = write(tmp_path, "t,l\nup,pos\ndown,neg\nup,neu\nflat,neu\ndown,pos\n")

    report = evaluate(KeywordAnalyzer(), read_labelled(path, text_col="t", label_col="l"))

    # Rows true negative/neutral/positive, columns predicted; worked by hand from the five rows.
    assert report.matrix == [[1, 0, 0], [0, 1, 1], [1, 0, 1]]
    assert report.accuracy == pytest.approx(3 / 5)
    assert report.count == 5


def test_the_report_prints_the_figures_and_an_aligned_matrix() -> None:
    report = EvaluationReport(
        analyzer="keyword",
        version="1",
        matrix=[[10, 0, 2], [1, 100, 3], [0, 4, 5]],
        accuracy=0.5,
        macro_f1=0.25,
        seconds=2.0,
    )

    text = format_report(report)

    assert "Accuracy:    0.500" in text
    assert "Macro-F1:    0.250" in text
    assert "Speed:       62.5 headlines/s (2.000 s)" in text
    table = text.strip().splitlines()[-4:]
    assert table[0].split() == ["true", "\\", "predicted", "negative", "neutral", "positive"]
    assert table[2].split() == ["neutral", "1", "100", "3"]
    assert len({len(line) for line in table}) == 1


def test_the_extended_lexicon_beats_plain_vader_on_the_projects_own_headlines() -> None:
    rows = read_labelled(OWN_HEADLINES, text_col="headline", label_col="label")

    plain, extended = evaluate(vader_analyzer(), rows), evaluate(lexicon_analyzer(), rows)

    assert extended.accuracy > plain.accuracy
    assert extended.macro_f1 > plain.macro_f1
