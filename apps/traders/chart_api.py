"""/api/v1/charts: what the candle charts of the market, trader and plan pages draw (every role reads).

`GET /charts/candles` answers a bounded window of candles (at most MAX_BARS), the entry and exit fills
of the plans on them as markers, and the stop-loss, take-profit and entry levels as lines. Prices are
strings at the market's tick; `tick` and `precision` tell a chart how to format its axis.
"""

# No `from __future__ import annotations` here: ninja reads the endpoint annotations at runtime.
from datetime import datetime
from typing import Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema

from apps.core.numbers import at_increment
from apps.core.schemas import ErrorOut, RowId
from apps.market.models import Market
from apps.market.timeframes import TIMEFRAME_MS
from apps.traders.chart_selectors import DEFAULT_BARS, MAX_BARS, CandleChart, candle_chart, chart_scope
from apps.traders.models import TradePlan, Trader

Timeframe = Literal[tuple(TIMEFRAME_MS)]  # type: ignore[valid-type]

router = Router(tags=["charts"])


class ChartMarketOut(Schema):
    id: int
    exchange: str
    symbol: str
    tick: str = Field(description="The price increment; prices below are rounded to it.")
    precision: int = Field(description="Decimals of the tick, for the chart's axis.")


class CandleOut(Schema):
    time: datetime = Field(description="Open time (UTC).")
    open: str
    high: str
    low: str
    close: str
    volume: str


class MarkerOut(Schema):
    time: datetime = Field(description="Open time of the bar the fill happened in (market time on the replay).")
    plan_id: int
    execution_id: int
    kind: Literal["entry", "exit"]
    leg: str
    side: str
    price: str
    quantity: str


class LineOut(Schema):
    plan_id: int
    kind: Literal["entry", "stop_loss", "take_profit"]
    price: str


class CandleChartOut(Schema):
    market: ChartMarketOut
    timeframe: str
    timeframes: list[str] = Field(description="Every stored timeframe of the market, shortest first.")
    source: str | None = Field(description="The feed whose horizon ends the candles (replay, exchange), if any.")
    horizon: datetime | None
    candles: list[CandleOut]
    markers: list[MarkerOut]
    lines: list[LineOut]


class ChartQuery(Schema):
    market_id: RowId | None = Field(None, description="The market (with trader_id: default its first).")
    trader_id: RowId | None = Field(None, description="Only this trader's plans (its account's prices).")
    plan_id: RowId | None = Field(None, description="One plan: its market, fills and levels.")
    timeframe: Timeframe | None = Field(None, description="Default: the trader's, else the shortest stored.")
    limit: int = Field(DEFAULT_BARS, ge=1, le=MAX_BARS, description="Candles, newest last.")


def _answer(chart: CandleChart) -> dict:
    market = chart.market
    tick = market.price_precision

    def price(value) -> str:
        return at_increment(value, tick)

    def amount(value) -> str:
        return at_increment(value, market.amount_precision)

    return {
        "market": {
            "id": market.pk,
            "exchange": market.exchange,
            "symbol": market.symbol,
            "tick": at_increment(tick, None),
            "precision": max(0, -tick.normalize().as_tuple().exponent),
        },
        "timeframe": chart.timeframe,
        "timeframes": chart.timeframes,
        "source": chart.source,
        "horizon": chart.horizon,
        "candles": [
            {
                "time": candle.open_time,
                "open": price(candle.open),
                "high": price(candle.high),
                "low": price(candle.low),
                "close": price(candle.close),
                "volume": amount(candle.volume),
            }
            for candle in chart.candles
        ],
        "markers": [
            {
                "time": marker.time,
                "plan_id": marker.plan_id,
                "execution_id": marker.execution_id,
                "kind": marker.kind,
                "leg": marker.leg,
                "side": marker.side,
                "price": price(marker.price),
                "quantity": amount(marker.quantity),
            }
            for marker in chart.markers
        ],
        "lines": [{"plan_id": line.plan_id, "kind": line.kind, "price": price(line.price)} for line in chart.lines],
    }


@router.get("/candles", response={200: CandleChartOut, 404: ErrorOut}, url_name="chart_candles")
def chart_candles(request: HttpRequest, query: Query[ChartQuery]):
    """A plan's chart (plan_id), a trader's on one of its markets (trader_id, market_id), or a market's."""
    market = get_object_or_404(Market, pk=query.market_id) if query.market_id else None
    trader = get_object_or_404(Trader, pk=query.trader_id) if query.trader_id else None
    plans = TradePlan.objects.select_related("market", "account", "trader")
    plan = get_object_or_404(plans, pk=query.plan_id) if query.plan_id else None
    scope = chart_scope(market=market, trader=trader, plan=plan)
    return _answer(candle_chart(scope=scope, timeframe=query.timeframe, limit=query.limit))
