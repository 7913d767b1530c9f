"""Run the emulator by hand: ``python -m apps.exchanges.emulator --exchange gate --port 8900``."""

from __future__ import annotations

import argparse
import logging
import threading
import time
from decimal import Decimal

from apps.exchanges.emulator.candles import FeedExhausted, load_freqtrade_json, symbol_from_filename
from apps.exchanges.emulator.emulator import ExchangeEmulator


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m apps.exchanges.emulator", description=__doc__)
    parser.add_argument("--exchange", choices=["binanceusdm", "gate", "binance"], default="binanceusdm")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--api-key", default="emulator-key")
    parser.add_argument("--api-secret", default="emulator-secret")
    parser.add_argument("--candles", help="freqtrade JSON candle file (e.g. ../shared/data/ohlcv/...json)")
    parser.add_argument("--symbol", help="unified symbol of --candles (default: taken from the file name)")
    parser.add_argument("--history", type=int, default=1000, help="candles before the starting clock")
    parser.add_argument(
        "--balance", default="10000", help="starting USDT wallet balance (spot: the USDT asset; others start at 0)"
    )
    parser.add_argument("--advance-every", type=float, default=0.0, help="advance one candle every N seconds")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(message)s")
    candles = None
    if args.candles:
        symbol = args.symbol or symbol_from_filename(args.candles)
        if not symbol:
            raise SystemExit("cannot tell the symbol from the file name; pass --symbol BTC/USDT:USDT (spot: BTC/USDT)")
        candles = {symbol: load_freqtrade_json(args.candles)}
    emulator = ExchangeEmulator(
        args.exchange,
        api_key=args.api_key,
        api_secret=args.api_secret,
        host=args.host,
        port=args.port,
        candles=candles,
        history=args.history,
        balance=Decimal(args.balance),
    ).start()
    print(f"{args.exchange} emulator on {emulator.url}  (control API: {emulator.url}/_emulator/state)", flush=True)
    stop = threading.Event()
    try:
        while not stop.wait(args.advance_every or 3600):
            if args.advance_every:
                try:
                    emulator.advance()
                except FeedExhausted:
                    print("candles exhausted; the clock stays at the last candle")
                    args.advance_every = 0
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
        time.sleep(0.05)


if __name__ == "__main__":
    main()
