"""Evaluate an analyzer on a labelled CSV of headlines: accuracy, macro-F1, confusion matrix, speed."""

from __future__ import annotations

import csv
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from apps.news.sentiment.base import Analyzer, Label
from apps.news.sentiment.metrics import LABELS, accuracy, confusion_matrix, macro_f1

# Common spellings of the three labels in labelled data sets, lower-cased.
LABEL_SPELLINGS: dict[str, Label] = {
    **dict.fromkeys(("negative", "neg", "-1", "bearish"), Label.NEGATIVE),
    **dict.fromkeys(("neutral", "neu", "0"), Label.NEUTRAL),
    **dict.fromkeys(("positive", "pos", "1", "+1", "bullish"), Label.POSITIVE),
}
UNKNOWN_SHOWN = 5


class EvaluationError(ValueError):
    """The labelled file cannot be evaluated; the message says why, for the command line."""


@dataclass(frozen=True, slots=True)
class LabelledHeadline:
    text: str
    label: Label


@dataclass(frozen=True, slots=True)
class EvaluationReport:
    analyzer: str
    version: str
    matrix: list[list[int]]
    accuracy: float
    macro_f1: float
    seconds: float

    @property
    def count(self) -> int:
        return sum(map(sum, self.matrix))

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else float("inf")


def parse_label(raw: str) -> Label | None:
    return LABEL_SPELLINGS.get(raw.strip().lower())


def read_labelled(path: Path, *, text_col: str, label_col: str) -> list[LabelledHeadline]:
    """The file's headlines with their labels; EvaluationError for a missing column, an unknown
    label (the first few, with their line numbers) or a file without rows."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
        if not columns:
            raise EvaluationError(f"{path} is empty: expected a header row with {text_col!r} and {label_col!r}")
        missing = [c for c in (text_col, label_col) if c not in columns]
        if missing:
            raise EvaluationError(f"{path} has no column {', '.join(map(repr, missing))}; its columns: {columns}")
        rows = [(reader.line_num, row[text_col] or "", row[label_col] or "") for row in reader]
    if not rows:
        raise EvaluationError(f"{path} has a header but no rows")
    parsed = [(line, text, raw, parse_label(raw)) for line, text, raw in rows]
    unknown = [(line, raw) for line, _, raw, label in parsed if label is None]
    if unknown:
        shown = ", ".join(f"line {line}: {raw!r}" for line, raw in unknown[:UNKNOWN_SHOWN])
        raise EvaluationError(
            f"{len(unknown)} unknown label(s) in column {label_col!r} ({shown}); "
            f"accepted: {', '.join(sorted(LABEL_SPELLINGS))}"
        )
    return [LabelledHeadline(text=text, label=label) for _, text, _, label in parsed if label is not None]


def evaluate(analyzer: Analyzer, headlines: Sequence[LabelledHeadline]) -> EvaluationReport:
    started = time.perf_counter()
    predicted = [s.label for s in analyzer.score_batch([h.text for h in headlines])]
    seconds = time.perf_counter() - started
    matrix = confusion_matrix([h.label for h in headlines], predicted)
    return EvaluationReport(
        analyzer=analyzer.name,
        version=analyzer.version,
        matrix=matrix,
        accuracy=accuracy(matrix),
        macro_f1=macro_f1(matrix),
        seconds=seconds,
    )


def format_report(report: EvaluationReport) -> str:
    """The figures, then the confusion matrix as a table aligned on its widest cell."""
    cells = [["true \\ predicted", *LABELS], *([label, *row] for label, row in zip(LABELS, report.matrix, strict=True))]
    width = max(len(str(cell)) for row in cells for cell in row)
    table = "\n".join("  ".join(str(cell).rjust(width) for cell in row) for row in cells)
    return (
        f"Analyzer:    {report.analyzer} ({report.version})\n"
        f"Headlines:   {report.count}\n"
        f"Accuracy:    {report.accuracy:.3f}\n"
        f"Macro-F1:    {report.macro_f1:.3f}\n"
        f"Speed:       {report.per_second:,.1f} headlines/s ({report.seconds:.3f} s)\n"
        f"\n{table}\n"
    )
