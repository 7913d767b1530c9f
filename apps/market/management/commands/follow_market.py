"""manage.py follow_market: an operator's follow, which live collection fetches from the exchange."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.market.models import ExchangeId
from apps.market.selectors import market_get
from apps.market.services import market_follow
from apps.market.timeframes import TIMEFRAME_MS


class Command(BaseCommand):
    help = (
        "Follow a market and timeframe: live collection fetches its candles from the exchange every minute "
        "(when an account needs that exchange's live prices), whatever strategies and traders use. "
        "--stop ends the follow; the stored candles stay."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--exchange", required=True, choices=ExchangeId.values)
        parser.add_argument("--symbol", required=True, help="ccxt unified symbol, e.g. BTC/USDT:USDT")
        parser.add_argument("--timeframe", required=True, choices=list(TIMEFRAME_MS))
        parser.add_argument("--stop", action="store_true", help="stop following it")

    def handle(self, *args: Any, **options: Any) -> None:
        market = market_get(exchange=options["exchange"], symbol=options["symbol"])
        if market is None:
            raise CommandError(
                f"no market {options['symbol']} on {options['exchange']}; create it first (admin, or fetch_candles)"
            )
        follow = not options["stop"]
        market_follow(market=market, timeframe=options["timeframe"], follow=follow)
        what = f"{market.symbol} {options['timeframe']} on {market.exchange}"
        self.stdout.write(f"Following {what}." if follow else f"No longer following {what}.")
