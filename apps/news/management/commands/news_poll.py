"""Poll the enabled news sources now, whatever their interval."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.news.management.analyzer_option import analyzer_or_error
from apps.news.models import NewsSource
from apps.news.services import news_items_score, news_sources_poll


class Command(BaseCommand):
    help = "Poll the enabled news sources now and print, per source: new items, duplicates, not modified or the error."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--source", action="append", default=[], help="Poll only this source (by name), enabled or not; repeatable."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        names = options["source"]
        sources = NewsSource.objects.filter(name__in=names) if names else NewsSource.objects.filter(enabled=True)
        sources = list(sources.order_by("name"))
        missing = set(names) - {source.name for source in sources}
        if missing:
            raise CommandError(f"No such news source: {', '.join(sorted(missing))}")
        if not sources:
            self.stdout.write("No enabled news source; enable one in the admin or /api/v1/news/sources.")
        for result in news_sources_poll(sources=sources):
            self.stdout.write(str(result))
        analyzer = analyzer_or_error(None)
        scored = news_items_score(analyzer=analyzer, batch_size=settings.SENTIMENT_BATCH_SIZE)
        self.stdout.write(f"{scored} item(s) scored by {analyzer.name}")
