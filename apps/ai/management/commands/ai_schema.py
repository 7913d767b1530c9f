"""Print the trade-plan JSON Schema model answers must match (GET /api/v1/model-configs/schema/trade-plan)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand

from apps.ai.contract import trade_plan_json_schema


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--symbols", nargs="*", default=None, help="the trader's markets: the symbol becomes their enum"
        )

    def handle(self, *args: Any, symbols: list[str] | None, **options: Any) -> None:
        self.stdout.write(json.dumps(trade_plan_json_schema(symbols), indent=2))
