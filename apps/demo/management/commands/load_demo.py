"""Demo data for a fresh install: the demo markets and candles, the rows of fixtures/demo.json, then the demo
news (the feed snapshots). Safe to rerun."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.demo.services import DEMO_FIXTURES, DemoFixtureInvalid, demo_fixtures_load
from apps.market.demo import demo_market_data_load
from apps.news.demo import demo_news_load


class Command(BaseCommand):
    help = (
        "Create the demo markets and load their candles from ../shared/data (or a clearly labelled seeded "
        "synthetic series when that folder is absent), then the demo rows of fixtures/demo.json (a paper account, "
        "the risk profile Standard, a strategy on the demo markets and the paper trader Paper desk), and the headlines "
        "of the four news feed snapshots of ../shared/data/rss (offline; their sources stay disabled)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--fixtures", type=Path, default=DEMO_FIXTURES, help="The fixture file (default: fixtures/demo.json)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # Markets first: the demo strategy names them, and a strategy may only name stored markets.
        demo_market_data_load(shared_data_dir=settings.SHARED_DATA_DIR, stdout=self.stdout)
        try:
            lines = demo_fixtures_load(path=options["fixtures"])
        except DemoFixtureInvalid as exc:
            raise CommandError(f"Nothing was loaded: {exc}") from None
        for line in lines:
            self.stdout.write(line)
        demo_news_load(shared_data_dir=settings.SHARED_DATA_DIR, stdout=self.stdout)
