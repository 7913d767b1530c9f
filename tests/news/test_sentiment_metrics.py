"""The metrics against scikit-learn's documented examples (the API reference pages of
`sklearn.metrics.confusion_matrix` and `sklearn.metrics.f1_score`), with classes 0, 1, 2 read as
negative, neutral, positive; the figures are also worked by hand in each test."""

from __future__ import annotations

import pytest

from apps.news.sentiment.base import Label
from apps.news.sentiment.metrics import accuracy, confusion_matrix, f1_per_label, macro_f1

CLASSES = (Label.NEGATIVE, Label.NEUTRAL, Label.POSITIVE)


def labels(*classes: int) -> list[Label]:
    return [CLASSES[c] for c in classes]


def test_confusion_matrix_matches_scikit_learns_example() -> None:
    matrix = confusion_matrix(labels(2, 0, 2, 2, 0, 1), labels(0, 0, 2, 2, 0, 2))

    assert matrix == [[2, 0, 0], [0, 0, 1], [1, 0, 2]]


def test_f1_matches_scikit_learns_example() -> None:
    # Negative: TP 2, FP 1, FN 0 -> 4/5 = 0.8; neutral and positive: TP 0 -> 0; macro = 0.8/3.
    matrix = confusion_matrix(labels(0, 1, 2, 0, 1, 2), labels(0, 2, 1, 0, 0, 1))

    assert f1_per_label(matrix) == pytest.approx([0.8, 0.0, 0.0])
    assert macro_f1(matrix) == pytest.approx(0.26666666666666666)
    assert accuracy(matrix) == pytest.approx(2 / 6)


def test_a_label_never_true_nor_predicted_scores_zero_as_scikit_learn_with_zero_division_0() -> None:
    matrix = confusion_matrix(labels(0, 2), labels(0, 2))

    assert f1_per_label(matrix) == [1.0, 0.0, 1.0]
    assert accuracy(matrix) == 1.0


def test_mismatched_lengths_and_no_headlines_are_refused() -> None:
    with pytest.raises(ValueError, match="2 true labels but 1 predictions"):
        confusion_matrix(labels(0, 1), labels(0))
    with pytest.raises(ValueError, match="no headlines"):
        accuracy(confusion_matrix([], []))
