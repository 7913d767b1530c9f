from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from apps.market import selectors, services
from apps.market.candles_io import FORMATS, CandleFileError, read_candles
from apps.market.describers import MarketUndescribed, market_describe
from apps.market.models import ExchangeId, Market
from apps.market.timeframes import TIMEFRAME_MS, timeframe_ms

GAPS_SHOWN = 20
TIME_FORMAT = "%Y-%m-%d %H:%M"


class Command(BaseCommand):
    help = (
        "Import OHLCV candles from a freqtrade JSON, Binance kline CSV or generic CSV file. Every row is "
        "validated first; a bad file imports nothing. Re-importing the same file changes nothing. With "
        "--create-market, a market not stored yet is created from the exchange's description."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--exchange", required=True, choices=ExchangeId.values)
        parser.add_argument("--symbol", required=True, help="ccxt unified symbol, e.g. BTC/USDT:USDT")
        parser.add_argument("--timeframe", required=True, choices=list(TIMEFRAME_MS))
        parser.add_argument("--format", choices=FORMATS, help="default: detected from the file's content")
        parser.add_argument(
            "--create-market",
            action="store_true",
            help="create the market from the exchange's rules (tick, step, minimums) when it is not stored yet",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        if not path.is_file():
            raise CommandError(f"{path} is not a file")
        market = selectors.market_get(exchange=options["exchange"], symbol=options["symbol"])
        if market is None and not options["create_market"]:
            raise CommandError(self._unknown_market(options["exchange"], options["symbol"]))
        timeframe = options["timeframe"]
        try:
            series = read_candles(path, timeframe_ms=timeframe_ms(timeframe), fmt=options["format"])
        except CandleFileError as exc:
            raise CommandError(f"{path.name}: {exc}. Nothing was imported.") from None
        if market is None:  # after the file is read: a bad file creates no market either
            market = self._create_market(options["exchange"], options["symbol"])
        with tqdm(
            total=len(series), desc="writing", unit=" rows", file=sys.stderr, disable=options["verbosity"] == 0
        ) as bar:
            result = services.candle_series_import(
                market=market, timeframe=timeframe, series=series, source=str(path.resolve()), progress=bar.update
            )
        services.candle_table_tidy(rows_written=len(series))
        record = result.record
        self.stdout.write(
            f"{record.rows:,} {timeframe} candles ({record.format}) for {market.symbol} on {market.exchange}, "
            f"{record.first_open_time:{TIME_FORMAT}} to {record.last_open_time:{TIME_FORMAT}} UTC: "
            f"{result.created:,} new, {result.changed:,} changed, {result.unchanged:,} unchanged."
        )
        missing = sum(gap.missing for gap in result.gaps)
        if not result.gaps:
            self.stdout.write("No gaps.")
            return
        self.stdout.write(f"{len(result.gaps)} gaps ({missing:,} missing bars), as the bars either side of each hole:")
        for gap in result.gaps[:GAPS_SHOWN]:
            self.stdout.write(f"  {gap.before:{TIME_FORMAT}} -> {gap.after:{TIME_FORMAT}}  {gap.missing:,} missing")
        if len(result.gaps) > GAPS_SHOWN:
            self.stdout.write(f"  ... and {len(result.gaps) - GAPS_SHOWN} more")

    def _create_market(self, exchange: str, symbol: str) -> Market:
        try:
            market = market_describe(exchange=exchange, symbol=symbol)
        except MarketUndescribed as exc:
            raise CommandError(f"{exc}; no market was created. Nothing was imported.") from None
        self.stdout.write(
            f"Created {symbol} on {exchange} from the exchange's rules: tick {market.price_precision.normalize():f}, "
            f"step {market.amount_precision.normalize():f}, min notional {market.min_notional.normalize():f}."
        )
        return market

    @staticmethod
    def _unknown_market(exchange: str, symbol: str) -> str:
        known = selectors.market_symbols(exchange=exchange)
        listing = ", ".join(known) if known else "none yet"
        return (
            f"no market {symbol} on {exchange} (known there: {listing}). Create it first in the admin "
            "(Market > Add market) or with POST /api/v1/markets, or pass --create-market to create it from "
            "the exchange's description."
        )
