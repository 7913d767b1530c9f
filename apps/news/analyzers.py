"""The sentiment analyzer the settings choose; the analyzers themselves are in apps.news.sentiment (pure)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from apps.news.sentiment.base import Analyzer
from apps.news.sentiment.registry import AnalyzerOptions, build_analyzer


def sentiment_analyzer(name: str | None = None) -> Analyzer:
    """`name`, else the SENTIMENT_ANALYZER setting. ValueError for an unknown name,
    AnalyzerUnavailable when it cannot run here (llama_cpp without `make llm`)."""
    model_path = settings.SENTIMENT_LLAMA_MODEL_PATH
    options = AnalyzerOptions(
        llama_model_path=Path(model_path) if model_path else None,
        llama_max_per_second=settings.SENTIMENT_LLAMA_MAX_PER_SECOND,
        llama_threads=settings.SENTIMENT_LLAMA_THREADS,
    )
    return build_analyzer(name or settings.SENTIMENT_ANALYZER, options)
