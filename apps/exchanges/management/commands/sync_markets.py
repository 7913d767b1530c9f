from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.exchanges.adapters import errors
from apps.exchanges.services import MarketSyncRow, SymbolsNotListed, UnknownExchange, markets_sync

COLUMNS = ("symbol", "tick", "step", "min amount", "min notional", "max leverage", "result")


def plain(value: Decimal) -> str:
    """A decimal without trailing zeros or an exponent: 0.001, 100."""
    return f"{value.normalize():f}"


def table_row(row: MarketSyncRow) -> tuple[str, ...]:
    rules = row.rules
    if rules is None:
        return (row.symbol, "", "", "", "", "", str(row.outcome))
    leverage = str(rules.max_leverage) if rules.max_leverage else "-"
    numbers = (plain(rules.tick), plain(rules.step), plain(rules.min_amount), plain(rules.min_notional))
    return (row.symbol, *numbers, leverage, str(row.outcome))


def render_table(rows: list[tuple[str, ...]]) -> list[str]:
    """Left-aligned text columns, right-aligned numbers, two spaces apart."""
    lines = [COLUMNS, *rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(COLUMNS))]
    numeric = range(1, 6)
    return [
        "  ".join(
            cell.rjust(width) if i in numeric else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(line, widths, strict=True))
        ).rstrip()
        for line in lines
    ]


class Command(BaseCommand):
    help = (
        "Create or update markets from the exchange's rules (tick, step, minimum amount and notional, maximum "
        "leverage), read through the keyless public client. Without --symbols: updates the markets already stored "
        "for the exchange. Every symbol is checked before anything is written."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--exchange", required=True, help="binanceusdm, gate or binance (spot)")
        parser.add_argument("--symbols", nargs="+", default=[], help="ccxt unified symbols to create or update")
        parser.add_argument("--all", action="store_true", help="create every market the exchange lists")
        parser.add_argument(
            "--deactivate-missing",
            action="store_true",
            help="mark stored markets the exchange no longer lists inactive",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        exchange: str = options["exchange"]
        try:
            rows = markets_sync(
                exchange=exchange,
                symbols=options["symbols"],
                listed=options["all"],
                deactivate_missing=options["deactivate_missing"],
            )
        except (UnknownExchange, SymbolsNotListed) as exc:
            raise CommandError(str(exc)) from None
        except errors.AdapterError as exc:
            raise CommandError(f"{exchange} is unreachable, nothing was changed: {type(exc).__name__}: {exc}") from None
        if not rows:
            self.stdout.write(f"No markets stored for {exchange}; name some with --symbols (or --all).")
            return
        for line in render_table([table_row(row) for row in rows]):
            self.stdout.write(line)
        counts = Counter(str(row.outcome) for row in rows)
        self.stdout.write(f"{exchange}: " + ", ".join(f"{count} {outcome}" for outcome, count in counts.items()) + ".")
