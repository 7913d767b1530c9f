from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from apps.exchanges import services as exchange_services
from apps.exchanges.adapters import errors
from apps.exchanges.adapters.factory import adapter_for_account
from apps.exchanges.cli import account_named
from apps.exchanges.models import ExchangeAccount
from apps.market import services as market_services
from apps.market.candles_io import CandleSeries, datetime_to_ms, ms_to_datetime
from apps.market.models import CandleSeriesStats
from apps.market.timeframes import TIMEFRAME_MS, timeframe_ms

if TYPE_CHECKING:
    from apps.exchanges.adapters.ccxt_adapter import CcxtAdapter

PAGE = 1000
TIME_FORMAT = "%Y-%m-%d %H:%M"


def parse_date(value: str) -> datetime:
    """ISO date or date-time; naive means UTC."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date; use YYYY-MM-DD or YYYY-MM-DDTHH:MM") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


class Command(BaseCommand):
    help = (
        "Fetch closed OHLCV candles from an exchange account's adapter and upsert them. Resumable: a re-run "
        "starts after the last stored candle. Creates or updates the Market from the exchange's rules."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--account", required=True, help="ExchangeAccount name")
        parser.add_argument("--symbol", required=True, help="ccxt unified symbol, e.g. BTC/USDT:USDT")
        parser.add_argument("--timeframe", required=True, choices=list(TIMEFRAME_MS))
        start = parser.add_mutually_exclusive_group(required=True)
        start.add_argument("--since", help="UTC start (inclusive), YYYY-MM-DD[THH:MM]")
        start.add_argument("--limit", type=int, metavar="N", help="the last N closed candles")
        parser.add_argument("--until", help="UTC end (exclusive); default: up to the newest closed candle")

    def handle(self, *args: Any, **options: Any) -> None:
        account = account_named(options["account"])
        if options["limit"] is not None and account.mode == ExchangeAccount.Mode.PAPER:
            raise CommandError("--limit reads an exchange: a paper account's candles are the stored ones already")
        timeframe: str = options["timeframe"]
        step = timeframe_ms(timeframe)
        since, until = self._period(options)
        try:
            adapter = adapter_for_account(account)
            rules = next((r for r in adapter.load_markets() if r.symbol == options["symbol"]), None)
            if rules is None:
                raise CommandError(f"{account.exchange} has no market {options['symbol']} for account {account.name}")
            market = exchange_services.market_sync_from_exchange(exchange=account.exchange, rules=rules)
            if options["limit"] is not None:
                since, until = self._last(adapter, market.symbol, timeframe, options["limit"])
            stats = CandleSeriesStats.objects.filter(market=market, timeframe=timeframe).first()
            start = since
            if stats is not None and datetime_to_ms(stats.last_open_time) >= since:
                start = datetime_to_ms(stats.last_open_time) + step
                self.stdout.write(f"Resuming after the last stored candle, {stats.last_open_time:{TIME_FORMAT}} UTC.")
            total = None if until is None else max(0, (until - start) // step)
            written = created = 0
            with tqdm(
                total=total, desc="fetching", unit=" bars", file=sys.stderr, disable=options["verbosity"] == 0
            ) as bar:
                cursor = start
                while until is None or cursor < until:
                    limit = PAGE if until is None else int(min(PAGE, (until - cursor + step - 1) // step))
                    candles = adapter.fetch_ohlcv(market.symbol, timeframe, since=cursor, limit=limit)
                    keep = candles.open_time >= cursor
                    if until is not None:
                        keep &= candles.open_time < until
                    if not keep.any():
                        break
                    series = CandleSeries(
                        open_time_ms=candles.open_time[keep].astype(np.int64),
                        ohlcv=np.column_stack([candles.open, candles.high, candles.low, candles.close, candles.volume])[
                            keep
                        ],
                        format="exchange",
                    )
                    result = market_services.candle_series_import(
                        market=market,
                        timeframe=timeframe,
                        series=series,
                        source=f"fetch_candles {account.name} ({account.exchange}, {account.mode})",
                    )
                    written += len(series)
                    created += result.created
                    bar.update(len(series))
                    cursor = int(series.open_time_ms[-1]) + step
        except errors.AdapterError as exc:
            raise CommandError(f"{account.name}: {type(exc).__name__}: {exc}") from None
        if not written:
            self.stdout.write(
                f"No new closed {timeframe} candles for {market.symbol} from {ms_to_datetime(start):{TIME_FORMAT}} UTC."
            )
            return
        self.stdout.write(
            f"{written:,} {timeframe} candles for {market.symbol} on {account.exchange} "
            f"({created:,} new), up to {ms_to_datetime(cursor - step):{TIME_FORMAT}} UTC."
        )

    @staticmethod
    def _period(options: dict[str, Any]) -> tuple[int, int | None]:
        """Open times: the first candle (inclusive) and the end (exclusive, None: the newest closed);
        with --limit both come from the exchange (_last)."""
        if options["limit"] is not None:
            if options["limit"] < 1:
                raise CommandError(f"--limit must be at least 1, not {options['limit']}")
            if options["until"]:
                raise CommandError("--limit counts back from the newest closed candle; use --since and --until")
            return 0, None
        since = datetime_to_ms(parse_date(options["since"]))
        until = datetime_to_ms(parse_date(options["until"])) if options["until"] else None
        if until is not None and until <= since:
            raise CommandError("--until must be after --since")
        return since, until

    @staticmethod
    def _last(adapter: CcxtAdapter, symbol: str, timeframe: str, limit: int) -> tuple[int, int]:
        """The period of the exchange's last `limit` closed candles (by the exchange's newest candle, not
        this machine's clock)."""
        # A few back: the candle before the exchange's forming one may not have closed on this machine's clock yet.
        newest = adapter.fetch_candles(symbol, timeframe, since=None, limit=3).closed
        if not len(newest.open_time):
            raise CommandError(f"the exchange has no closed {timeframe} candle of {symbol} yet")
        step = timeframe_ms(timeframe)
        last = int(newest.open_time[-1])
        return last - (limit - 1) * step, last + step
