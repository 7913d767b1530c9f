"""Add feed URLs from a file as news sources, disabled until an operator enables them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.core.errors import ServiceValidationError
from apps.news.services import news_sources_import


class Command(BaseCommand):
    help = (
        "Add the feed URLs of FILE (one a line; blank lines and # comments ignored) as news sources, disabled "
        "until an operator enables them. URLs already stored are skipped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise CommandError(f"{path}: cannot be read ({exc.strerror})") from None
        try:
            created, skipped = news_sources_import(lines=lines)
        except ServiceValidationError as exc:
            raise CommandError(f"{path}: {exc}; nothing was added") from None
        for source in created:
            self.stdout.write(f"Added {source.name} ({source.feed_url}), disabled.")
        self.stdout.write(f"{len(created)} sources added, {skipped} already there.")
