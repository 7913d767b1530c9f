"""GET /api/v1/charts/candles: the candles a chart draws, the plans' fills as markers and their levels as
lines, on the plan's, the trader's and the market's charts; bounded, and refusing bad input by name.

The completed plan (tests/traders/trading/conftest.py) is a paper buy of 0.2 BTC executed at bar 0
and closed by its 21,000 take-profit at bar 2, on candles replayed up to bar 2. Its fill prices are
computed by hand from the paper exchange's 2 bps slippage: 20,000 x 1.0002 = 20,004 and
21,000 x 0.9998 = 20,995.8 (one decimal: the market's tick is 0.1).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from apps.exchanges.models import ExchangeAccount
from apps.market.models import Candle
from apps.traders.models import TradePlan
from tests.exchanges.paper.helpers import bar_time, release
from tests.factories import MarketFactory, TraderFactory
from tests.traders.trading.test_api import client_for, error_fields, setup_paper_trader

pytestmark = pytest.mark.django_db
URL = "/api/v1/charts/candles"


def iso(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def chart(user, **query):
    response = client_for(user).get(URL, query)
    assert response.status_code == 200, response.content
    return response.json()


def test_the_plan_chart_has_its_candles_its_two_fills_and_its_three_levels(viewer, completed_plan) -> None:
    body = chart(viewer, plan_id=completed_plan.pk)

    assert body["market"] == {
        "id": completed_plan.market_id,
        "exchange": "binanceusdm",
        "symbol": "BTC/USDT:USDT",
        "tick": "0.1",
        "precision": 1,
    }
    assert (body["timeframe"], body["source"], body["horizon"]) == ("1h", "replay", iso(bar_time(2)))
    assert [candle["time"] for candle in body["candles"]] == [iso(bar_time(i)) for i in range(3)]
    assert body["candles"][2] == {
        "time": iso(bar_time(2)),
        "open": "20100",
        "high": "21100",
        "low": "20050",
        "close": "21000",
        "volume": "1",
    }
    markers = [(m["time"], m["kind"], m["leg"], m["side"], m["price"], m["quantity"]) for m in body["markers"]]
    assert markers == [
        (iso(bar_time(0)), "entry", "entry", "buy", "20004", "0.2"),
        (iso(bar_time(2)), "exit", "take_profit", "sell", "20995.8", "0.2"),
    ]
    lines = [(line["kind"], line["price"]) for line in body["lines"]]
    assert lines == [("entry", "20004"), ("stop_loss", "19500"), ("take_profit", "21000")]


def test_candles_stop_at_the_replay_horizon_not_at_the_stored_future(viewer) -> None:
    trader, feed = setup_paper_trader()
    trader.markets.set([feed.market])
    body = chart(viewer, trader_id=trader.pk)
    assert [candle["time"] for candle in body["candles"]] == [iso(bar_time(0))]  # bars 1 and 2 are "the future"
    release(feed, 2)
    body = chart(viewer, market_id=feed.market_id)
    assert len(body["candles"]) == 3 == Candle.objects.filter(market=feed.market).count()


def test_the_window_is_bounded_by_limit_newest_last(viewer, completed_plan) -> None:
    body = chart(viewer, market_id=completed_plan.market_id, limit=2)
    assert [candle["time"] for candle in body["candles"]] == [iso(bar_time(1)), iso(bar_time(2))]
    # Only the fills inside the window are marked.
    assert [marker["leg"] for marker in body["markers"]] == ["take_profit"]


def test_market_and_trader_charts_draw_the_levels_of_open_plans_only(viewer, completed_plan) -> None:
    assert chart(viewer, market_id=completed_plan.market_id)["lines"] == []
    completed_plan.trader.markets.set([completed_plan.market])
    open_plan = TradePlan.objects.get(pk=completed_plan.pk)
    open_plan.pk, open_plan.status, open_plan.average_entry_price = None, TradePlan.Status.PENDING, None
    open_plan.stop_loss, open_plan.take_profit = Decimal("20500.04"), Decimal("22000")
    open_plan.save()
    for query in ({"market_id": completed_plan.market_id}, {"trader_id": completed_plan.trader_id}):
        body = chart(viewer, **query)
        assert {(line["plan_id"], line["kind"], line["price"]) for line in body["lines"]} == {
            (open_plan.pk, "stop_loss", "20500"),
            (open_plan.pk, "take_profit", "22000"),
        }, query
        assert len(body["markers"]) == 2  # the completed plan's fills are still marked


def test_a_market_chart_on_the_replay_leaves_out_plans_priced_by_the_exchange(viewer, completed_plan) -> None:
    ExchangeAccount.objects.filter(pk=completed_plan.account_id).update(
        mode=ExchangeAccount.Mode.TESTNET, price_source=ExchangeAccount.PriceSource.LIVE
    )
    body = chart(viewer, market_id=completed_plan.market_id)
    assert body["source"] == "replay" and body["markers"] == []


def test_another_trader_plans_are_not_on_a_trader_chart(viewer, completed_plan) -> None:
    other = TraderFactory(account=completed_plan.account)
    body = chart(viewer, trader_id=other.pk, market_id=completed_plan.market_id)
    assert body["markers"] == [] and len(body["candles"]) == 3


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({}, "market_id"),
        ({"market_id": "1", "limit": "0"}, "limit"),
        ({"market_id": "1", "limit": "1001"}, "limit"),
        ({"market_id": "1", "timeframe": "7m"}, "timeframe"),
        ({"market_id": "x"}, "market_id"),
        ({"plan_id": "0"}, "plan_id"),
    ],
)
def test_bad_input_is_refused_naming_the_parameter(viewer, completed_plan, query, field) -> None:
    response = client_for(viewer).get(URL, query)
    assert response.status_code == 422, response.content
    assert error_fields(response) == [field]


def test_a_plan_with_another_market_or_a_trader_without_markets_is_refused(viewer, completed_plan) -> None:
    other = MarketFactory(symbol="ETH/USDT:USDT", base="ETH")
    response = client_for(viewer).get(URL, {"plan_id": completed_plan.pk, "market_id": other.pk})
    assert response.status_code == 422 and error_fields(response) == ["market_id"]
    assert response.json()["detail"][0]["loc"] == ["query", "market_id"]
    response = client_for(viewer).get(URL, {"trader_id": TraderFactory().pk})
    assert response.status_code == 422 and error_fields(response) == ["trader_id"]
    response = client_for(viewer).get(URL, {"market_id": other.pk})
    assert response.status_code == 422 and "no stored candles" in response.json()["detail"][0]["msg"]


def test_unknown_rows_answer_404_and_outsiders_are_refused(viewer, completed_plan) -> None:
    assert client_for(viewer).get(URL, {"plan_id": completed_plan.pk + 100}).status_code == 404
    assert client_for(viewer).get(URL, {"market_id": 999}).status_code == 404
    assert Client().get(URL, {"market_id": completed_plan.market_id}).status_code == 401


def test_prices_are_shown_at_the_market_tick(viewer, completed_plan) -> None:
    Candle.objects.filter(market=completed_plan.market, open_time=bar_time(1)).update(close=Decimal("20100.0499999"))
    body = chart(viewer, market_id=completed_plan.market_id)
    assert body["candles"][1]["close"] == "20100"  # 20,100.05 rounds at 0.1 to 20,100.0, shown without the zero
