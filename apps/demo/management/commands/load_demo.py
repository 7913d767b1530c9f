"""Demo data for a fresh install: the rows in fixtures/demo.json, then markets and candles. Safe to run again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.demo.services import DEMO_FIXTURES, DemoFixtureInvalid, demo_fixtures_load
from apps.market.demo import demo_market_data_load


class Command(BaseCommand):
    help = (
        "Create the demo rows of fixtures/demo.json (a paper account, the risk profile Standard, a strategy and "
        "the paper trader Paper desk) and the demo markets, and load candles from ../shared/data "
        "(or a clearly labelled seeded synthetic series when that folder is absent)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--fixtures", type=Path, default=DEMO_FIXTURES, help="The fixture file (default: fixtures/demo.json)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            lines = demo_fixtures_load(path=options["fixtures"])
        except DemoFixtureInvalid as exc:
            raise CommandError(f"Nothing was loaded: {exc}") from None
        for line in lines:
            self.stdout.write(line)
        demo_market_data_load(shared_data_dir=settings.SHARED_DATA_DIR, stdout=self.stdout)
