"""What live collection fetches: the series strategies, traders and operators follow, on the exchanges some
account needs live prices from; the offline demo (paper on the replay) sends no request at all."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from apps.exchanges.collect import collected_series
from apps.market.models import MarketFeed
from apps.market.replay import market_data_collect
from apps.strategies.models import Strategy
from apps.traders.models import Trader
from tests.exchanges.collect.conftest import aimed_at
from tests.factories import ExchangeAccountFactory, MarketFactory, TraderFactory
from tests.signals.helpers import enabled_strategy

pytestmark = pytest.mark.django_db


def disabled_strategy(*, timeframe: str, name: str, markets: list[str] | None = None) -> Strategy:
    """A strategy that follows nothing itself (a trader's strategy need not be enabled)."""
    strategy = enabled_strategy("ema_trend", timeframe=timeframe, markets=markets, name=name)
    strategy.enabled = False
    strategy.save()
    return strategy


def collected() -> list[tuple[str, str, str]]:
    return sorted((s.market.exchange, s.market.symbol, s.timeframe) for s in collected_series())


def test_nothing_is_collected_when_no_account_needs_live_prices(live_emulator) -> None:
    market = MarketFactory()
    enabled_strategy("ema_trend", timeframe="5m")
    ExchangeAccountFactory(exchange="binanceusdm", mode="paper", price_source="replay")
    call_command("follow_market", "--exchange", "binanceusdm", "--symbol", market.symbol, "--timeframe", "1h")
    emu = live_emulator()
    with aimed_at(emu):
        ticks = market_data_collect()
    assert collected() == []
    assert [tick for tick in ticks if tick.source == MarketFeed.Source.EXCHANGE] == []
    assert list(emu.requests) == []  # the offline demo never reaches an exchange


@pytest.mark.parametrize("mode", ["testnet", "live", "paper-live"])
def test_an_account_that_needs_live_prices_makes_its_exchange_collected(mode: str) -> None:
    MarketFactory()
    MarketFactory(exchange="gate", symbol="ETH/USDT:USDT", base="ETH")
    enabled_strategy("ema_trend", timeframe="5m", markets=["BTC/USDT:USDT", "ETH/USDT:USDT"])
    if mode == "paper-live":
        ExchangeAccountFactory(exchange="binanceusdm", mode="paper", price_source="live")
    else:
        ExchangeAccountFactory(exchange="binanceusdm", mode=mode)
    assert collected() == [("binanceusdm", "BTC/USDT:USDT", "1m"), ("binanceusdm", "BTC/USDT:USDT", "5m")]


def test_strategies_traders_and_operators_choose_what_is_collected() -> None:
    ExchangeAccountFactory(exchange="binanceusdm", mode="testnet")
    MarketFactory()
    eth = MarketFactory(symbol="ETH/USDT:USDT", base="ETH")
    sol = MarketFactory(symbol="SOL/USDT:USDT", base="SOL")
    MarketFactory(symbol="XRP/USDT:USDT", base="XRP")  # followed by nothing
    MarketFactory(symbol="ADA/USDT:USDT", base="ADA", active=False)
    enabled_strategy("ema_trend", timeframe="15m", markets=["BTC/USDT:USDT", "ADA/USDT:USDT"])
    disabled_strategy(timeframe="4h", markets=["XRP/USDT:USDT"], name="off")
    trader = TraderFactory(strategy=disabled_strategy(timeframe="1h", name="t"), status="running")
    trader.markets.set([eth])
    stopped = TraderFactory(strategy=disabled_strategy(timeframe="2h", name="s"))
    stopped.markets.set([sol])
    assert stopped.status == Trader.Status.STOPPED
    call_command("follow_market", "--exchange", "binanceusdm", "--symbol", "SOL/USDT:USDT", "--timeframe", "30m")

    assert collected() == [
        ("binanceusdm", "BTC/USDT:USDT", "15m"),
        ("binanceusdm", "BTC/USDT:USDT", "1m"),
        ("binanceusdm", "ETH/USDT:USDT", "1h"),
        ("binanceusdm", "ETH/USDT:USDT", "1m"),
        ("binanceusdm", "SOL/USDT:USDT", "1m"),
        ("binanceusdm", "SOL/USDT:USDT", "30m"),
    ]

    call_command(
        "follow_market", "--exchange", "binanceusdm", "--symbol", "SOL/USDT:USDT", "--timeframe", "30m", "--stop"
    )
    assert ("binanceusdm", "SOL/USDT:USDT", "30m") not in collected()
    assert MarketFeed.objects.filter(market=sol, timeframe="30m", operator_follow=False).exists()  # kept


def test_follow_market_refuses_an_unknown_market() -> None:
    with pytest.raises(CommandError, match="no market DOGE/USDT:USDT on gate"):
        call_command("follow_market", "--exchange", "gate", "--symbol", "DOGE/USDT:USDT", "--timeframe", "1m")
