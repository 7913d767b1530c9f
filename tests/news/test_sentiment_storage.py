"""Scores stored per item and analyzer version, computed once; the scoring service, its task hook
and the news_score and sentiment_eval commands."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError
from django.utils import timezone

from apps.news.models import NewsSentiment
from apps.news.sentiment.base import Analyzer, Label, Sentiment
from apps.news.services import news_items_score
from apps.news.tasks import poll_news_sources
from tests.factories import NewsItemFactory

pytestmark = pytest.mark.django_db


class CountingAnalyzer(Analyzer):
    """Positive for every headline; remembers the batches it was given."""

    name = "counting"

    def __init__(self, version: str = "1") -> None:
        self.version = version
        self.batches: list[list[str]] = []

    def score_batch(self, headlines: Sequence[str]) -> list[Sentiment]:
        self.batches.append(list(headlines))
        return [Sentiment(score=0.5, label=Label.POSITIVE, confidence=0.5) for _ in headlines]


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def items(count: int) -> list:
    start = datetime(2025, 12, 1, tzinfo=UTC)
    return [NewsItemFactory(title=f"Headline {i}", published_at=start + timedelta(hours=i)) for i in range(count)]


def test_unscored_items_are_scored_in_batches_newest_first() -> None:
    items(5)
    analyzer = CountingAnalyzer()

    scored = news_items_score(analyzer=analyzer, batch_size=2)

    assert scored == 5
    assert analyzer.batches == [["Headline 4", "Headline 3"], ["Headline 2", "Headline 1"], ["Headline 0"]]
    row = NewsSentiment.objects.get(item__title="Headline 0")
    assert (row.analyzer, row.version, row.label, row.score, row.confidence) == ("counting", "1", "positive", 0.5, 0.5)


def test_the_same_version_never_scores_again_and_a_new_version_does() -> None:
    items(3)
    news_items_score(analyzer=CountingAnalyzer("1"), batch_size=10)

    again = CountingAnalyzer("1")
    assert news_items_score(analyzer=again, batch_size=10) == 0
    assert again.batches == []

    assert news_items_score(analyzer=CountingAnalyzer("2"), batch_size=10) == 3
    assert NewsSentiment.objects.count() == 6


def test_max_items_leaves_the_rest_for_the_next_run() -> None:
    items(5)

    assert news_items_score(analyzer=CountingAnalyzer(), batch_size=2, max_items=3) == 3
    assert news_items_score(analyzer=CountingAnalyzer(), batch_size=2, max_items=3) == 2


def test_the_database_refuses_a_second_score_of_one_version() -> None:
    (item,) = items(1)
    fields = {"item": item, "analyzer": "lexicon", "version": "v", "label": "neutral", "confidence": 1.0}
    NewsSentiment.objects.create(score=0.0, scored_at=timezone.now(), **fields)

    with pytest.raises(IntegrityError):
        NewsSentiment.objects.create(score=0.1, scored_at=timezone.now(), **fields)


def test_a_score_outside_minus_one_to_one_is_refused_by_the_database() -> None:
    (item,) = items(1)

    with pytest.raises(IntegrityError):
        NewsSentiment.objects.create(
            item=item, analyzer="x", version="v", label="positive", score=1.5, confidence=1.0, scored_at=timezone.now()
        )


def test_the_poll_task_scores_new_items_with_the_lexicon() -> None:
    NewsItemFactory(title="Exchange hacked, funds drained")

    assert poll_news_sources() == "no source due; 1 item(s) scored"
    row = NewsSentiment.objects.get()
    assert (row.analyzer, row.label) == ("lexicon", "negative")
    assert row.score < 0


def test_news_score_scores_once_per_version() -> None:
    NewsItemFactory(title="Bitcoin rallies to an all-time high")

    first = run("news_score")
    second = run("news_score")
    plain = run("news_score", "--analyzer", "vader")

    assert first.startswith("1 item(s) scored by lexicon (vader-3.3.2+crypto-1/band-0.05)")
    assert second.startswith("0 item(s) scored by lexicon")
    assert plain.startswith("1 item(s) scored by vader")


def test_news_score_without_llama_cpp_names_make_llm(settings, tmp_path: Path) -> None:
    settings.SENTIMENT_LLAMA_MODEL_PATH = str(tmp_path / "absent.gguf")

    with pytest.raises(CommandError, match="SENTIMENT_LLAMA_MODEL_PATH"):
        run("news_score", "--analyzer", "llama_cpp")


def test_sentiment_eval_prints_the_figures_of_a_labelled_file(tmp_path: Path) -> None:
    path = tmp_path / "labelled.csv"
    path.write_text("title,y\nExchange hacked,-1\nBitcoin rallies,1\nBitcoin trades near $60K,0\nToken soars,0\n")

    out = run("sentiment_eval", str(path), "--text-col", "title", "--label-col", "y")

    # Hand-worked: three right, "Token soars" (neutral) predicted positive -> accuracy 3/4;
    # F1 negative 1, neutral 2/3, positive 2/3 -> macro (1 + 4/3) / 3 = 0.778.
    assert "Accuracy:    0.750" in out
    assert "Macro-F1:    0.778" in out
    assert "headlines/s" in out


@pytest.mark.parametrize(
    ("text", "text_col", "message"),
    [
        ("", "title", "is empty"),
        ("title,y\nBTC up,maybe\n", "title", "unknown label"),
        ("title,y\nBTC up,1\n", "headline", "has no column 'headline'"),
    ],
)
def test_sentiment_eval_says_why_a_file_cannot_be_evaluated(
    tmp_path: Path, text: str, text_col: str, message: str
) -> None:
    path = tmp_path / "labelled.csv"
    path.write_text(text)

    with pytest.raises(CommandError, match=message):
        run("sentiment_eval", str(path), "--text-col", text_col, "--label-col", "y")


def test_sentiment_eval_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="No such file"):
        run("sentiment_eval", str(tmp_path / "nope.csv"), "--text-col", "t", "--label-col", "l")


def test_news_poll_says_why_the_chosen_analyzer_cannot_score(settings, tmp_path: Path) -> None:
    settings.SENTIMENT_ANALYZER = "llama_cpp"
    settings.SENTIMENT_LLAMA_MODEL_PATH = str(tmp_path / "absent.gguf")

    with pytest.raises(CommandError, match="no GGUF model file at .*absent.gguf"):
        run("news_poll")
