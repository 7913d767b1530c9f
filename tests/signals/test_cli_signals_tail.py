"""`manage.py signals_tail`: the newest signals, then each new one as it fires."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest

from apps.signals.management.commands import signals_tail
from apps.signals.models import Signal
from tests.factories import MarketFactory
from tests.market.helpers import START
from tests.signals.helpers import enabled_strategy
from tests.traders.cli.helpers import refused, run

pytestmark = pytest.mark.django_db


def fire(strategy, market, minute: int, direction: str = "long") -> Signal:
    return Signal.objects.create(
        strategy=strategy,
        strategy_version=1,
        market=market,
        timeframe="1m",
        candle_open_time=START + timedelta(minutes=minute),
        direction=direction,
        status="emitted",
        inputs={"close": 20000.04, "rsi_14": 28.4137},
    )


def test_prints_the_newest_then_each_new_signal_of_one_strategy(admin_user, monkeypatch) -> None:
    rsi, ema = enabled_strategy("rsi_mean_reversion", name="RSI"), enabled_strategy("ema_trend", name="EMA")
    btc = MarketFactory()
    for minute in range(3):
        fire(rsi, btc, minute)
    fired = iter([lambda: fire(ema, btc, 10), lambda: fire(rsi, btc, 11, "exit")])
    # The worker's evaluation fires a signal between two looks.
    monkeypatch.setattr(signals_tail, "time", SimpleNamespace(sleep=lambda seconds: next(fired)()))
    lines = run("signals_tail", "--strategy", "RSI", "--last", "2", "--rounds", "3", "--every", "0").out.splitlines()
    assert lines[0].split()[:3] == ["candle", "(UTC)", "strategy"]
    rows = [line.split() for line in lines[1:]]
    assert [(row[1], row[5], row[6]) for row in rows] == [
        (f"{START + timedelta(minutes=1):%H:%M}", "long", "emitted"),
        (f"{START + timedelta(minutes=2):%H:%M}", "long", "emitted"),
        (f"{START + timedelta(minutes=11):%H:%M}", "exit", "emitted"),  # EMA's signal is not RSI's
    ]
    assert rows[0][7:] == ["20000", "rsi_14", "28.41"]  # the close at the 0.1 tick, the RSI at 2 decimals


def test_json_and_errors(admin_user) -> None:
    signal = fire(enabled_strategy("rsi_mean_reversion", name="RSI"), MarketFactory(), 0)
    [line] = run("signals_tail", "--rounds", "1", "--json").json_lines()
    assert (line["id"], line["strategy"], line["symbol"], line["direction"]) == (
        signal.pk,
        "RSI",
        "BTC/USDT:USDT",
        "long",
    )
    refused("signals_tail", "--strategy", "Nope", "--rounds", "1", match="no strategy named 'Nope' \\(known: RSI\\)")
