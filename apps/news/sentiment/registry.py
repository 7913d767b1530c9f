"""Analyzers by name: what `--analyzer` and the SENTIMENT_ANALYZER setting choose from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from apps.news.sentiment.base import Analyzer
from apps.news.sentiment.lexicon import lexicon_analyzer, vader_analyzer
from apps.news.sentiment.llama import LlamaAnalyzer

ANALYZER_NAMES = ("lexicon", "vader", "llama_cpp")


@dataclass(frozen=True, slots=True)
class AnalyzerOptions:
    """What the analyzers read from settings; the lexicon ones need nothing."""

    llama_model_path: Path | None = None
    llama_max_per_second: float = 2.0
    llama_threads: int = 2


def build_analyzer(name: str, options: AnalyzerOptions) -> Analyzer:
    """ValueError for an unknown name; AnalyzerUnavailable when the analyzer cannot run here."""
    if name == "lexicon":
        return lexicon_analyzer()
    if name == "vader":
        return vader_analyzer()
    if name == "llama_cpp":
        return LlamaAnalyzer(
            model_path=options.llama_model_path,
            max_per_second=options.llama_max_per_second,
            threads=options.llama_threads,
        )
    raise ValueError(f"unknown analyzer {name!r}; choose one of {', '.join(ANALYZER_NAMES)}")
