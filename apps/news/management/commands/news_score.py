"""Score the news items that the chosen analyzer's version has not scored yet."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from apps.news.management.analyzer_option import add_analyzer_option, analyzer_or_error
from apps.news.services import news_items_score


class Command(BaseCommand):
    help = "Score every news item not yet scored by the analyzer's current version (each item once per version)."

    def add_arguments(self, parser: CommandParser) -> None:
        add_analyzer_option(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        analyzer = analyzer_or_error(options["analyzer"])
        scored = news_items_score(analyzer=analyzer, batch_size=settings.SENTIMENT_BATCH_SIZE)
        self.stdout.write(f"{scored} item(s) scored by {analyzer.name} ({analyzer.version})")
