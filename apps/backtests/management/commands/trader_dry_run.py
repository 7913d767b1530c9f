"""`manage.py trader_dry_run --trader NAME [--last N | --from --to]`: what the trader would decide on
each stored candle, with every input its rule reads, from the trader backtest's simulation (the
worker's decision path on a simulated clock). It sends nothing and writes nothing."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.backtests import trader_runs
from apps.backtests.management.periods import TIME_FORMAT, period_option
from apps.backtests.trader_sim import DecisionRecord
from apps.core.errors import ServiceValidationError
from apps.core.numbers import at_increment, indicator
from apps.market.candles_io import ms_to_datetime
from apps.traders.cycle import PRICE_FIELDS

DEFAULT_LAST = 20
MISSING = "missing"


def _value(value: float | None) -> str:
    return MISSING if value is None else indicator(value)


def _inputs_read(backtest: trader_runs.TraderBacktest) -> list[str]:
    """The indicator series the trader reads: its strategy's, and the ATR when a level is in ATRs."""
    rules = backtest.setup.rules
    atr_id = backtest.setup.atr_id
    reads_atr = "atr" in (rules.stop_loss.kind, rules.take_profit.kind) or any(
        declared.id == atr_id for declared in backtest.spec.indicators
    )
    names = backtest.run.decisions[0].inputs.indicators
    return [name for name in names if name not in PRICE_FIELDS and (name != atr_id or reads_atr)]


def _row(record: DecisionRecord, names: list[str], tick: Decimal) -> dict[str, str]:
    inputs = record.inputs
    return {
        "time": f"{ms_to_datetime(inputs.candle_open_ms):{TIME_FORMAT}}",
        "price": at_increment(inputs.price, tick),
        **{name: _value(inputs.indicators.get(name)) for name in names},
        "sentiment": MISSING if inputs.sentiment is None else indicator(inputs.sentiment),
        "signal": inputs.signal or "-",
        "decision": record.decision.action.value,
        "outcome": f"{record.outcome}: {record.note}" if record.note else record.outcome,
        "reason": record.decision.reason,
    }


def _table(rows: list[dict[str, str]]) -> list[str]:
    """Aligned columns; the reason, the longest, last and unpadded."""
    headers = list(rows[0])
    widths = {name: max(len(name), *(len(row[name]) for row in rows)) for name in headers[:-1]}

    def line(cells: dict[str, str]) -> str:
        return "  ".join([*(cells[name].ljust(widths[name]) for name in headers[:-1]), cells[headers[-1]]]).rstrip()

    return [line({name: name for name in headers}), *(line(row) for row in rows)]


class Command(BaseCommand):
    help = (
        "Show what a trader would decide on each stored candle: the price, every input its rule reads "
        "(sentiment: the base asset's rolling news sentiment at the close, 'missing' when no scored headline "
        "counts), the decision and its reason. "
        "Sends nothing, writes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--trader", required=True, metavar="NAME", help="the trader's name")
        parser.add_argument("--symbol", help="one of the trader's markets (default: its first)")
        period = parser.add_mutually_exclusive_group()
        period.add_argument("--last", type=int, metavar="N", help=f"the last N stored candles (default {DEFAULT_LAST})")
        period.add_argument("--from", dest="start", metavar="DATE", help="first candle, inclusive (UTC)")
        parser.add_argument(
            "--to", dest="end", metavar="DATE", help="last candle, inclusive; a date means its whole day"
        )
        parser.add_argument(
            "--cash", type=Decimal, default=Decimal(10_000), help="equity to start from (default 10000)"
        )
        parser.add_argument("--json", action="store_true", help="one JSON object per decision instead of a table")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            backtest = trader_runs.trader_backtest(
                name=options["trader"],
                symbol=options["symbol"],
                period=self._period(options),
                cash=options["cash"],
                record=True,
            )
        except ServiceValidationError as exc:
            raise CommandError(exc.message) from None
        names = _inputs_read(backtest)
        rows = [_row(record, names, backtest.market.price_precision) for record in backtest.run.decisions]
        if options["json"]:
            for row in rows:
                self.stdout.write(json.dumps(row))
            return
        self.stdout.write(
            f"Dry run of trader {backtest.trader.name} on {backtest.market.symbol} {backtest.spec.timeframe}: "
            f"{len(rows)} decisions, nothing sent."
        )
        for line in _table(rows):
            self.stdout.write(line)

    @staticmethod
    def _period(options: dict[str, Any]) -> trader_runs.TraderPeriod:
        last = options["last"]
        if last is not None and last < 1:
            raise CommandError(f"--last must be at least 1, not {last}")
        if last is not None and options["end"]:
            raise CommandError("--last counts back from the newest candle; use --from and --to for a period")
        start, end = period_option(options["start"], options["end"])
        if start is None and end is None:
            return trader_runs.TraderPeriod(last=last or DEFAULT_LAST)
        return trader_runs.TraderPeriod(start=start, end=end)
