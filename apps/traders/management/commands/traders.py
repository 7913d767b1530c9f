"""`manage.py traders list|start|stop|status NAME`: the traders page's list and its start and stop
buttons, through the same services (a live account's trader needs every live safeguard)."""

from __future__ import annotations

import dataclasses
from typing import Any

from django.core.management.base import CommandParser
from django.utils import timezone

from apps.core.cli import OperatorCommand, add_common_arguments
from apps.core.roles import Role
from apps.traders import cli, selectors, services
from apps.traders.api import TraderOut
from apps.traders.models import Trader

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def _when(moment: Any) -> str:
    return f"{moment:{TIME_FORMAT}}" if moment else "-"


class Command(OperatorCommand):
    help = "List traders, start or stop one (operators), or show one's status."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="list|start|stop|status")
        listing = actions.add_parser("list", help="every trader with its status, markets and heartbeat")
        add_common_arguments(listing)
        listing.add_argument("--status", choices=Trader.Status.values)
        for name, text in (("start", "start its cycles"), ("stop", "stop its cycles"), ("status", "its status")):
            action = actions.add_parser(name, help=text)
            add_common_arguments(action)
            action.add_argument("name", help="the trader's name")
            if name == "start":
                action.add_argument(
                    "--confirm", metavar="ACCOUNT", default="", help="a live account's trader: the account's name"
                )

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "list":
            self.list_traders(options)
            return
        role = Role.VIEWER if action == "status" else Role.OPERATOR
        user = self.act_as(options, role)
        with cli.refusals():
            trader = selectors.trader_by_name(name=options["name"])
            if action == "start":
                services.trader_start(trader=trader, user=user, confirmation=options["confirm"], strict=True)
            elif action == "stop":
                services.trader_stop(trader=trader, user=user, strict=True)
        self.show_status(options, trader)

    def list_traders(self, options: dict[str, Any]) -> None:
        self.act_as(options, Role.VIEWER)
        traders = list(selectors.trader_list(status=options["status"]))
        now = timezone.now()
        rows = [
            {
                "name": trader.name,
                "account": f"{trader.account.name} ({trader.account.mode})",
                "status": trader.status,
                "markets": " ".join(market.symbol for market in trader.markets.all()),
                "strategy": trader.strategy.name if trader.strategy else "-",
                "positions": str(trader.open_positions),
                "heartbeat": _when(trader.heartbeat_at)
                + (" (stale)" if selectors.trader_heartbeat_stale(trader=trader, now=now) else ""),
                "reason": trader.status_reason,
            }
            for trader in traders
        ]
        data = [TraderOut.from_orm(trader).model_dump() for trader in traders]
        self.emit(options, data=data, rows=rows, empty="No traders yet.")

    def show_status(self, options: dict[str, Any], trader: Trader) -> None:
        trader = selectors.trader_list().get(pk=trader.pk)
        status = selectors.trader_status_get(trader=trader, now=timezone.now())
        if options["json"]:
            self.emit(options, data={"name": trader.name, **dataclasses.asdict(status)}, rows=[])
            return
        stale = " (stale: no worker runs it?)" if status.heartbeat_stale else ""
        self.stdout.write(f"Trader {trader.name}: {status.status}" + (f" ({status.reason})" if status.reason else ""))
        self.stdout.write(f"  last cycle {_when(status.last_cycle_at)}, heartbeat {_when(status.heartbeat_at)}{stale}")
        self.stdout.write(f"  open positions {status.open_positions}")
