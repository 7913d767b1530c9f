"""`manage.py signals_tail [--strategy S]`: the newest signals, then each new one as the worker's
evaluation stores it, until Ctrl-C (or --rounds). Reads what /signals/ lists (apps.signals.selectors)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import CommandError, CommandParser

from apps.core.cli import OperatorCommand, table, to_json
from apps.core.numbers import at_increment, indicator, to_decimal
from apps.core.roles import Role
from apps.signals.models import Signal
from apps.signals.selectors import signal_list
from apps.strategies.models import Strategy

NAMES_SHOWN = 10
CANDLE_FIELDS = ("open", "high", "low", "close", "volume")


def _values(signal: Signal) -> str:
    """The indicator values the signal read, at two decimals."""
    values = signal.inputs if isinstance(signal.inputs, dict) else {}
    return " ".join(
        f"{name} {indicator(value) if to_decimal(value) is not None else 'missing'}"
        for name, value in values.items()
        if name not in CANDLE_FIELDS and name != "sentiment"
    )


def signal_row(signal: Signal) -> dict[str, str]:
    close = signal.inputs.get("close") if isinstance(signal.inputs, dict) else None
    return {
        "candle (UTC)": f"{signal.candle_open_time:%Y-%m-%d %H:%M}",
        "strategy": signal.strategy.name,
        "market": f"{signal.market.symbol} {signal.timeframe}",
        "direction": signal.direction,
        "status": signal.status,
        "price": "-" if to_decimal(close) is None else at_increment(close, signal.market.price_precision),
        "values": _values(signal),
    }


def signal_data(signal: Signal) -> dict[str, Any]:
    return {
        "id": signal.pk,
        "strategy": signal.strategy.name,
        "strategy_version": signal.strategy_version,
        "exchange": signal.market.exchange,
        "symbol": signal.market.symbol,
        "timeframe": signal.timeframe,
        "candle_open_time": signal.candle_open_time,
        "direction": signal.direction,
        "status": signal.status,
        "inputs": signal.inputs,
    }


class Command(OperatorCommand):
    help = "Print the newest signals, then each new signal as it fires, until Ctrl-C."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--strategy", metavar="NAME", help="one strategy's signals only")
        parser.add_argument("--last", type=int, default=10, help="signals shown first (default 10)")
        parser.add_argument("--every", type=float, default=5, help="seconds between looks (default 5)")
        parser.add_argument("--rounds", type=int, default=0, help="stop after this many looks (default: Ctrl-C)")

    def handle(self, *args: Any, **options: Any) -> None:
        self.act_as(options, Role.VIEWER)
        strategy = self._strategy(options["strategy"])
        signals = signal_list(strategy=strategy.pk if strategy else None)
        first = list(signals[: max(options["last"], 0)])[::-1]
        seen = signals.values_list("pk", flat=True).order_by("-pk").first() or 0
        self._print(options, first, header=True)
        header = not first
        rounds = 1
        try:
            while not options["rounds"] or rounds < options["rounds"]:
                time.sleep(options["every"])
                rounds += 1
                fresh = list(signals.filter(pk__gt=seen).order_by("pk"))
                if fresh:
                    seen = fresh[-1].pk
                    self._print(options, fresh, header=header)
                    header = False
        except KeyboardInterrupt:
            self.stdout.write("")

    @staticmethod
    def _strategy(name: str | None) -> Strategy | None:
        if not name:
            return None
        strategy = Strategy.objects.filter(name=name).first()
        if strategy is None:
            names = ", ".join(Strategy.objects.order_by("name").values_list("name", flat=True)[:NAMES_SHOWN])
            raise CommandError(f"--strategy: no strategy named {name!r} (known: {names or 'none yet'})")
        return strategy

    def _print(self, options: dict[str, Any], signals: list[Signal], *, header: bool) -> None:
        if options["json"]:
            for signal in signals:
                self.stdout.write(to_json(signal_data(signal)))
            return
        lines = table([signal_row(signal) for signal in signals])
        for line in lines if header else lines[1:]:
            self.stdout.write(line)
