"""`manage.py trader_run NAME`: one trader's cycles in the foreground, each decision printed as the dry
run prints it. The cycles are the worker's (apps.traders.services.cycles.trader_cycle_run): the same
decisions, plans, risk gate and decision log; a worker running beside it is harmless (a cycle holds the
trader's row lock, and a decision is stored once per market and candle)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import CommandError, CommandParser

from apps.audit.models import DecisionLog
from apps.core.cli import OperatorCommand, table, to_json
from apps.core.roles import Role
from apps.traders import cli, selectors, services
from apps.traders.cycle import PRICE_FIELDS
from apps.traders.models import ACTIVE_TRADER_STATUSES, Trader
from apps.traders.services.cycles import atr_id, trader_cycle_run

DEFAULT_EVERY = 5.0


def _hidden(trader: Trader) -> set[str]:
    """What the cycle records but the rule does not read: the ATR, unless a level or the strategy reads it
    (as the dry run shows it)."""
    spec = selectors.trader_strategy_spec(trader=trader)
    atr = atr_id(trader)
    reads_atr = Trader.Level.ATR in (trader.stop_loss, trader.take_profit) or (
        spec is not None and any(declared.id == atr for declared in spec.indicators)
    )
    return set(PRICE_FIELDS) | (set() if reads_atr else {atr})


def decision_rows(trader: Trader, decisions: list[DecisionLog]) -> list[dict[str, str]]:
    """The decisions as the dry run's rows, with their market first (a trader may trade several)."""
    hidden = _hidden(trader)
    names: dict[str, None] = {}
    for decision in decisions:
        names.update((name, None) for name in decision.inputs.get("values", {}) if name not in hidden)
    rows = []
    for decision in decisions:
        inputs = decision.inputs
        values = inputs.get("values", {})
        outcome = f"{decision.outcome}: plan {decision.plan_id}" if decision.plan_id else decision.outcome
        row = cli.decision_row(
            candle_open=decision.candle_open_time,
            close=inputs.get("price"),
            tick=decision.market.price_precision,
            indicators={name: values.get(name) for name in names},
            sentiment=inputs.get("sentiment"),
            signal=inputs.get("signal"),
            action=decision.action,
            outcome=outcome,
            reason=decision.error or decision.reason,
        )
        rows.append({"market": decision.market.symbol, **row})
    return rows


class Command(OperatorCommand):
    help = (
        "Run one trader's cycles in the foreground until Ctrl-C, printing each decision as trader_dry_run does. "
        "A stopped trader is started for the run (every live safeguard applies) and stopped again at its end."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("name", help="the trader's name")
        parser.add_argument(
            "--every", type=float, default=DEFAULT_EVERY, help=f"seconds between cycles (default {DEFAULT_EVERY:g})"
        )
        parser.add_argument("--cycles", type=int, default=0, help="stop after this many cycles (default: Ctrl-C)")
        parser.add_argument(
            "--confirm", metavar="ACCOUNT", default="", help="a live account's trader: the account's name, typed"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["every"] < 0 or options["cycles"] < 0:
            raise CommandError("--every and --cycles cannot be negative")
        user = self.act_as(options, Role.OPERATOR)
        with cli.refusals():
            trader = self.trader = selectors.trader_by_name(name=options["name"])
            started_here = trader.status not in ACTIVE_TRADER_STATUSES
            if started_here:
                services.trader_start(trader=trader, user=user, confirmation=options["confirm"])
        self._say(options, f"Running trader {trader.name} ({trader.account.name}); Ctrl-C stops.")
        seen = DecisionLog.objects.filter(trader=trader).order_by("-pk").values_list("pk", flat=True).first() or 0
        cycles, header = 0, True
        try:
            while True:
                report = trader_cycle_run(trader_id=trader.pk)
                decisions = list(
                    DecisionLog.objects.filter(trader=trader, pk__gt=seen).select_related("market").order_by("pk")
                )
                if decisions:
                    seen = decisions[-1].pk
                    self._print(options, decisions, header=header)
                    header = False
                trader.refresh_from_db()
                if trader.status not in ACTIVE_TRADER_STATUSES:
                    raise CommandError(f"trader {trader.name} is {trader.status}: {trader.status_reason or report}")
                cycles += 1
                if options["cycles"] and cycles >= options["cycles"]:
                    break
                time.sleep(options["every"])
        except KeyboardInterrupt:
            self._say(options, "")
        finally:
            if started_here and Trader.objects.filter(pk=trader.pk, status__in=ACTIVE_TRADER_STATUSES).exists():
                services.trader_stop(trader=Trader.objects.get(pk=trader.pk), user=user)
                self._say(options, f"Stopped trader {trader.name} again (it was started for this run).")

    def _print(self, options: dict[str, Any], decisions: list[DecisionLog], *, header: bool) -> None:
        rows = decision_rows(self.trader, decisions)
        if options["json"]:
            for row in rows:
                self.stdout.write(to_json(row))
            return
        lines = table(rows)
        for line in lines if header else lines[1:]:
            self.stdout.write(line)

    def _say(self, options: dict[str, Any], text: str) -> None:
        """Remarks go to stderr with --json, so that stdout is one JSON object a line."""
        (self.stderr if options["json"] else self.stdout).write(text)
