"""The --analyzer option the sentiment commands share, and the analyzer it names."""

from __future__ import annotations

from django.core.management.base import CommandError, CommandParser

from apps.news.analyzers import sentiment_analyzer
from apps.news.sentiment.base import Analyzer, AnalyzerUnavailable
from apps.news.sentiment.registry import ANALYZER_NAMES


def add_analyzer_option(parser: CommandParser) -> None:
    parser.add_argument(
        "--analyzer", choices=ANALYZER_NAMES, default=None, help="Default: the SENTIMENT_ANALYZER setting (lexicon)."
    )


def analyzer_or_error(name: str | None) -> Analyzer:
    """The analyzer, or a CommandError saying why it cannot run here (e.g. llama_cpp without `make llm`)."""
    try:
        return sentiment_analyzer(name)
    except (AnalyzerUnavailable, ValueError) as exc:
        raise CommandError(str(exc)) from exc
