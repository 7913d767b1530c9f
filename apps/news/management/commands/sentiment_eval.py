"""Evaluate a sentiment analyzer on any labelled CSV of headlines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.news.management.analyzer_option import add_analyzer_option, analyzer_or_error
from apps.news.sentiment.evaluation import EvaluationError, evaluate, format_report, read_labelled


class Command(BaseCommand):
    help = (
        "Print accuracy, macro-F1, the confusion matrix and headlines per second of an analyzer on a labelled "
        "CSV. Labels: negative/neutral/positive, neg/neu/pos, -1/0/1 or bearish/bullish."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="A CSV file with a header row.")
        parser.add_argument("--text-col", required=True, help="The column holding the headlines.")
        parser.add_argument("--label-col", required=True, help="The column holding the true labels.")
        add_analyzer_option(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        try:
            headlines = read_labelled(path, text_col=options["text_col"], label_col=options["label_col"])
        except EvaluationError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(format_report(evaluate(analyzer_or_error(options["analyzer"]), headlines)))
