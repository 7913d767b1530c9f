from __future__ import annotations

import pytest

from apps.news.assets import assets_mentioned, known_tickers

TICKERS = known_tickers(["BTC", "ETH", "PEPE"])


@pytest.mark.parametrize(
    ("headline", "expected"),
    [
        ("Bitcoin tops $100K as ether lags", {"BTC", "ETH"}),
        ("$BTC and ETH ETFs see record inflows", {"BTC", "ETH"}),
        ("Solana's validators vote on a new fee market", {"SOL"}),
        ("A new method to audit smart contracts", set()),
        ("Whether regulators act is unclear", set()),
        ("sol y sombra: a link to the near future", set()),
        ("PEPE rallies 30% while XBT futures cool", {"PEPE", "BTC"}),
        ("Fed holds rates steady", set()),
    ],
)
def test_assets_are_whole_words_by_ticker_or_common_name(headline: str, expected: set[str]) -> None:
    assert assets_mentioned(headline, tickers=TICKERS) == expected


def test_a_stored_markets_base_is_known_even_without_a_common_name() -> None:
    assert "PEPE" in TICKERS
    assert assets_mentioned("WIF surges", tickers=known_tickers([])) == set()
    assert assets_mentioned("WIF surges", tickers=known_tickers(["wif"])) == {"WIF"}
