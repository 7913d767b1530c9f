"""`manage.py positions --account A`: an account's open positions, as its page shows them."""

from __future__ import annotations

import dataclasses
from typing import Any

from django.core.management.base import CommandParser

from apps.core.cli import OperatorCommand
from apps.core.roles import Role
from apps.exchanges import selectors as exchange_selectors
from apps.exchanges.cli import account_named
from apps.traders import cli


class Command(OperatorCommand):
    help = "An exchange account's open positions (paper, testnet or live), prices at the market's tick."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--account", required=True, help="the exchange account's name")
        parser.add_argument("--symbol", help="one market only")

    def handle(self, *args: Any, **options: Any) -> None:
        self.act_as(options, Role.VIEWER)
        account = account_named(options["account"])
        with cli.refusals():
            positions = exchange_selectors.account_positions(account=account, symbol=options["symbol"])
        markets = exchange_selectors.account_markets(account=account)
        self.emit(
            options,
            data=[dataclasses.asdict(position) for position in positions],
            rows=[cli.position_row(position, markets.get(position.symbol)) for position in positions],
            empty=f"No open positions on {account.name}.",
        )
