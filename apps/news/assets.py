"""Which assets a headline mentions: plain code, no Django.

Tickers match case-sensitively ("ETH", "$ETH"), so that common words spelt like a ticker in lower
case ("sol", "link", "near") do not count; names match in any case ("Bitcoin", "ether"). Both
match whole words only: no "ETH" inside "METHOD", no "ether" inside "whether".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

# Ticker -> the names people write. Only names that rarely mean something else: "link", "near",
# "dot" or "avalanche" alone are left out on purpose.
COMMON_NAMES: dict[str, tuple[str, ...]] = {
    "BTC": ("bitcoin", "bitcoins"),
    "ETH": ("ethereum", "ether"),
    "SOL": ("solana",),
    "XRP": ("ripple",),
    "DOGE": ("dogecoin",),
    "ADA": ("cardano",),
    "BNB": ("binance coin",),
    "AVAX": ("avalanche network",),
    "LINK": ("chainlink",),
    "DOT": ("polkadot",),
    "LTC": ("litecoin",),
    "TRX": ("tron",),
    "TON": ("toncoin",),
    "SUI": ("sui network",),
    "USDT": ("tether",),
    "USDC": ("usd coin",),
}
# Other spellings of a ticker that mean the same asset.
TICKER_ALIASES: dict[str, tuple[str, ...]] = {"BTC": ("XBT",)}
MIN_TICKER_LENGTH = 2
_EDGE_BEFORE = r"(?<![A-Za-z0-9])"
_EDGE_AFTER = r"(?![A-Za-z0-9])"


def _pattern(words: Iterable[str], *, ignore_case: bool) -> re.Pattern[str] | None:
    alternatives = sorted({re.escape(word) for word in words}, key=len, reverse=True)
    if not alternatives:
        return None
    return re.compile(_EDGE_BEFORE + "(?:" + "|".join(alternatives) + ")" + _EDGE_AFTER, re.I if ignore_case else 0)


@lru_cache(maxsize=32)
def _patterns(tickers: frozenset[str]) -> dict[str, tuple[re.Pattern[str] | None, re.Pattern[str] | None]]:
    """Per ticker: its ticker pattern (case-sensitive) and its names pattern (any case)."""
    return {
        ticker: (
            _pattern((ticker, *TICKER_ALIASES.get(ticker, ())), ignore_case=False),
            _pattern(COMMON_NAMES.get(ticker, ()), ignore_case=True),
        )
        for ticker in tickers
        if len(ticker) >= MIN_TICKER_LENGTH
    }


def known_tickers(market_bases: Iterable[str]) -> frozenset[str]:
    """The common assets, and the base asset of every stored market."""
    return frozenset(COMMON_NAMES) | {base.upper() for base in market_bases}


def assets_mentioned(text: str, *, tickers: frozenset[str]) -> set[str]:
    """The tickers among `tickers` that `text` mentions, by ticker or by name."""
    return {
        ticker
        for ticker, (by_ticker, by_name) in _patterns(tickers).items()
        if (by_ticker and by_ticker.search(text)) or (by_name and by_name.search(text))
    }
