"""manage.py chains_export --start 2026-12-01 --end 2026-12-02 [--output chains.jsonl]: every audit
chain begun in [start, end) as JSON lines (the same documents as GET /api/v1/chains), oldest first,
written as they are built. Times without an offset are UTC."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.core.times import as_utc_within
from apps.traders.chains import chain_lines


def utc_time(text: str) -> datetime:
    try:
        moment = as_utc_within(datetime.fromisoformat(text))
    except ValueError:
        moment = None
    if moment is None:
        raise ValueError(text)
    return moment


utc_time.__name__ = "time (ISO 8601, UTC when no offset)"  # argparse names the type in its error


class Command(BaseCommand):
    help = "Export the audit chains (plans and decisions) begun in a time range as JSON lines."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--start", required=True, type=utc_time, help="From this time (inclusive).")
        parser.add_argument("--end", required=True, type=utc_time, help="To this time (exclusive).")
        parser.add_argument("--output", type=Path, help="Write to this file instead of standard output.")

    def handle(self, *args: Any, start: datetime, end: datetime, output: Path | None, **options: Any) -> None:
        if end <= start:
            raise CommandError(f"--end ({end.isoformat()}) must be after --start ({start.isoformat()})")
        if output is None:
            for line in chain_lines(start=start, end=end):
                self.stdout.write(line, ending="")
            return
        count = 0
        try:
            with output.open("w", encoding="utf-8") as target:
                for line in chain_lines(start=start, end=end):
                    target.write(line)
                    count += 1
        except OSError as exc:
            raise CommandError(f"cannot write {output}: {exc.strerror}") from None
        self.stderr.write(f"{count} chains written to {output}")
