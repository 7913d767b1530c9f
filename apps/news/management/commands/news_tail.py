"""Print the newest headlines, again every N seconds, until Ctrl-C (or --rounds)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.news.models import NewsItem
from apps.news.selectors import news_item_list


class Command(BaseCommand):
    help = "Print the last K headlines (time UTC, source, assets, title) every --every seconds until Ctrl-C."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("-k", type=int, default=10, help="Headlines per round (default 10).")
        parser.add_argument("--every", type=float, default=60, help="Seconds between rounds (default 60).")
        parser.add_argument("--rounds", type=int, default=0, help="Stop after this many rounds (default: never).")

    def handle(self, *args: Any, **options: Any) -> None:
        rounds = 0
        try:
            while True:
                self._print_round(options["k"])
                rounds += 1
                if options["rounds"] and rounds >= options["rounds"]:
                    return
                time.sleep(options["every"])
        except KeyboardInterrupt:
            self.stdout.write("")

    def _print_round(self, count: int) -> None:
        items = list(news_item_list()[: max(count, 1)])
        self.stdout.write(f"-- last {len(items)} headlines --")
        if not items:
            self.stdout.write("No news yet: run manage.py news_poll, or load_demo for the snapshots.")
        for item in reversed(items):
            self.stdout.write(_line(item))


def _line(item: NewsItem) -> str:
    assets = f" [{' '.join(item.assets)}]" if item.assets else ""
    return f"{item.published_at:%Y-%m-%d %H:%M} {item.source.name}{assets}: {item.title}"
