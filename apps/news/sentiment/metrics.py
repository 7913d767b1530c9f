"""Classification metrics over the three labels (pure; no Django; scikit-learn is not a dependency).

- confusion[i][j] = headlines whose true label is LABELS[i] and predicted label is LABELS[j]
- accuracy        = sum of the diagonal / all headlines
- F1 of a label   = 2·TP / (2·TP + FP + FN), 0 when the label is neither true nor predicted anywhere
- macro-F1        = the unweighted mean of the three labels' F1

These follow scikit-learn's `confusion_matrix`, `accuracy_score` and `f1_score(average="macro",
zero_division=0)`, against whose documented examples the tests check them.
"""

from __future__ import annotations

from collections.abc import Sequence

from apps.news.sentiment.base import Label

LABELS: tuple[Label, ...] = (Label.NEGATIVE, Label.NEUTRAL, Label.POSITIVE)


def confusion_matrix(truth: Sequence[Label], predicted: Sequence[Label]) -> list[list[int]]:
    if len(truth) != len(predicted):
        raise ValueError(f"{len(truth)} true labels but {len(predicted)} predictions")
    index = {label: i for i, label in enumerate(LABELS)}
    matrix = [[0] * len(LABELS) for _ in LABELS]
    for true, guess in zip(truth, predicted, strict=True):
        matrix[index[true]][index[guess]] += 1
    return matrix


def accuracy(matrix: Sequence[Sequence[int]]) -> float:
    total = sum(map(sum, matrix))
    if not total:
        raise ValueError("no headlines to score")
    return sum(matrix[i][i] for i in range(len(matrix))) / total


def f1_per_label(matrix: Sequence[Sequence[int]]) -> list[float]:
    scores = []
    for i in range(len(matrix)):
        true_positive = matrix[i][i]
        false_negative = sum(matrix[i]) - true_positive
        false_positive = sum(row[i] for row in matrix) - true_positive
        denominator = 2 * true_positive + false_positive + false_negative
        scores.append(2 * true_positive / denominator if denominator else 0.0)
    return scores


def macro_f1(matrix: Sequence[Sequence[int]]) -> float:
    scores = f1_per_label(matrix)
    return sum(scores) / len(scores)
