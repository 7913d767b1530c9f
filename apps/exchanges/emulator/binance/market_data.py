"""Binance fapi public market data: exchangeInfo, klines, tickers, depth, premium index."""

from __future__ import annotations

import bisect
from decimal import Decimal
from typing import Any

from apps.exchanges.emulator.binance.base import BinanceBase, error
from apps.exchanges.emulator.candles import Candle, interval_ms
from apps.exchanges.emulator.markets import MarketSpec
from apps.exchanges.emulator.wire import Response, decimals, fmt


class MarketData(BinanceBase):
    """Public market data endpoints (no signature)."""

    # --- public market data ----------------------------------------------------------------------------
    def ping(self, params: dict[str, str]) -> Response:
        return Response.of_json(200, {})

    def time(self, params: dict[str, str]) -> Response:
        return Response.of_json(200, {"serverTime": self.engine.now_ms()})

    def exchange_info(self, params: dict[str, str]) -> Response:
        symbols = [self._symbol_info(spec) for spec in self.emu.markets.values()]
        return Response.of_json(
            200,
            {
                "timezone": "UTC",
                "serverTime": self.engine.now_ms(),
                "futuresType": "U_MARGINED",
                "rateLimits": [
                    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 2400},
                    {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
                    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300},
                ],
                "exchangeFilters": [],
                "assets": [{"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-10000"}],
                "symbols": symbols,
            },
        )

    def _symbol_info(self, spec: MarketSpec) -> dict[str, Any]:
        return {
            "symbol": self.market_id(spec),
            "pair": self.market_id(spec),
            "contractType": "PERPETUAL",
            "deliveryDate": 4133404800000,
            "onboardDate": 1569398400000,
            "status": "TRADING",
            "maintMarginPercent": "2.5000",
            "requiredMarginPercent": "5.0000",
            "baseAsset": spec.base,
            "quoteAsset": spec.quote,
            "marginAsset": spec.quote,
            "pricePrecision": decimals(spec.tick_size),
            "quantityPrecision": decimals(spec.step_size),
            "baseAssetPrecision": 8,
            "quotePrecision": 8,
            "underlyingType": "COIN",
            "underlyingSubType": ["PoW"],
            "settlePlan": 0,
            "triggerProtect": "0.0500",
            "liquidationFee": "0.012500",
            "marketTakeBound": "0.05",
            "maxMoveOrderLimit": 10000,
            "filters": [
                {
                    "filterType": "PRICE_FILTER",
                    "minPrice": fmt(spec.tick_size * 10, decimals(spec.tick_size)),
                    "maxPrice": "4529764",
                    "tickSize": str(spec.tick_size),
                },
                {
                    "filterType": "LOT_SIZE",
                    "stepSize": str(spec.step_size),
                    "maxQty": str(spec.max_qty),
                    "minQty": str(spec.min_qty),
                },
                {
                    "filterType": "MARKET_LOT_SIZE",
                    "stepSize": str(spec.step_size),
                    "maxQty": str(spec.market_max_qty),
                    "minQty": str(spec.min_qty),
                },
                {"filterType": "MAX_NUM_ORDERS", "limit": 200},
                {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
                {"filterType": "MIN_NOTIONAL", "notional": str(spec.min_notional)},
                {
                    "filterType": "PERCENT_PRICE",
                    "multiplierUp": "1.0500",
                    "multiplierDown": "0.9500",
                    "multiplierDecimal": "4",
                },
            ],
            "orderTypes": [
                "LIMIT",
                "MARKET",
                "STOP",
                "STOP_MARKET",
                "TAKE_PROFIT",
                "TAKE_PROFIT_MARKET",
                "TRAILING_STOP_MARKET",
            ],
            "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
            "permissionSets": ["GRID", "COPY"],
        }

    def klines(self, params: dict[str, str]) -> Response:
        if "pair" in params and "symbol" not in params:  # indexPriceKlines
            params = {**params, "symbol": params["pair"]}
        symbol = self._symbol(params)
        assert symbol is not None
        interval = params.get("interval") or ""
        try:
            period = interval_ms(interval)
            candles = self.engine.feed.history(symbol, period)
        except ValueError:
            raise error(400, -1120, "Invalid interval.") from None
        limit = int(params.get("limit", 500))
        if not 1 <= limit <= 1500:
            raise error(400, -1130, "Data sent for parameter 'limit' is not valid.")
        start, end = params.get("startTime"), params.get("endTime")
        if start and end and int(start) > int(end):
            raise error(400, -1023, "Start time is greater than end time.")
        rows = _select(candles, int(start) if start else None, int(end) if end else None, limit)
        return Response.of_json(200, [self._kline(symbol, c, period) for c in rows])

    def _kline(self, symbol: str, c: Candle, period: int) -> list[Any]:
        quote_volume = c.volume * (c.open + c.close) / 2
        return [
            c.open_time,
            self._price(symbol, c.open),
            self._price(symbol, c.high),
            self._price(symbol, c.low),
            self._price(symbol, c.close),
            self._qty(symbol, c.volume),
            c.open_time + period - 1,
            fmt(quote_volume, 5),
            max(1, int(c.volume * 10)),
            self._qty(symbol, c.volume / 2),
            fmt(quote_volume / 2, 5),
            "0",
        ]

    def _day(self, symbol: str) -> list[Candle]:
        history = self.engine.feed.history(symbol)
        current = history[-1].open_time
        start = bisect.bisect_right([c.open_time for c in history], current - 86_400_000)
        return history[start:]

    def ticker_24hr(self, params: dict[str, str]) -> Response:
        symbol = self._symbol(params, required=False)
        tickers = [self._ticker(s) for s in ([symbol] if symbol else self.emu.markets)]
        return Response.of_json(200, tickers[0] if symbol else tickers)

    def _ticker(self, symbol: str) -> dict[str, Any]:
        day = self._day(symbol)
        last = self.engine.mark(symbol)
        open_ = day[0].open
        volume = sum((c.volume for c in day), Decimal(0))
        quote_volume = sum((c.volume * c.close for c in day), Decimal(0))
        period = self.engine.feed.base_interval_ms
        return {
            "symbol": self._id(symbol),
            "priceChange": self._price(symbol, last - open_),
            "priceChangePercent": fmt((last - open_) / open_ * 100, 3),
            "weightedAvgPrice": self._price(symbol, quote_volume / volume if volume else last),
            "lastPrice": self._price(symbol, last),
            "lastQty": self._qty(symbol, self._spec(symbol).min_qty),
            "openPrice": self._price(symbol, open_),
            "highPrice": self._price(symbol, max(c.high for c in day)),
            "lowPrice": self._price(symbol, min(c.low for c in day)),
            "volume": self._qty(symbol, volume),
            "quoteVolume": fmt(quote_volume, 2),
            "openTime": day[0].open_time,
            "closeTime": day[-1].open_time + period - 1,
            "firstId": 1,
            "lastId": len(day),
            "count": len(day),
        }

    def ticker_price(self, params: dict[str, str]) -> Response:
        symbol = self._symbol(params, required=False)
        rows = [
            {"symbol": self._id(s), "price": self._price(s, self.engine.mark(s)), "time": self.engine.now_ms()}
            for s in ([symbol] if symbol else self.emu.markets)
        ]
        return Response.of_json(200, rows[0] if symbol else rows)

    def book_ticker(self, params: dict[str, str]) -> Response:
        symbol = self._symbol(params, required=False)
        rows = [self._book_row(s) for s in ([symbol] if symbol else self.emu.markets)]
        return Response.of_json(200, rows[0] if symbol else rows)

    def _book_row(self, symbol: str) -> dict[str, Any]:
        price, tick = self.engine.mark(symbol), self._spec(symbol).tick_size
        return {
            "symbol": self._id(symbol),
            "bidPrice": self._price(symbol, price - tick),
            "bidQty": "10.000",
            "askPrice": self._price(symbol, price),
            "askQty": "10.000",
            "time": self.engine.now_ms(),
        }

    def depth(self, params: dict[str, str]) -> Response:
        symbol = self._symbol(params)
        assert symbol is not None
        price, tick = self.engine.mark(symbol), self._spec(symbol).tick_size
        levels = min(int(params.get("limit", 5)), 20)
        now = self.engine.now_ms()
        return Response.of_json(
            200,
            {
                "lastUpdateId": now,
                "E": now,
                "T": now,
                "bids": [[self._price(symbol, price - tick * (i + 1)), "10.000"] for i in range(levels)],
                "asks": [[self._price(symbol, price + tick * i), "10.000"] for i in range(levels)],
            },
        )

    def premium_index(self, params: dict[str, str]) -> Response:
        symbol = self._symbol(params, required=False)
        rows = [
            {
                "symbol": self._id(s),
                "markPrice": fmt(self.engine.mark(s), 8),
                "indexPrice": fmt(self.engine.mark(s), 8),
                "estimatedSettlePrice": fmt(self.engine.mark(s), 8),
                "lastFundingRate": "0.00010000",
                "interestRate": "0.00010000",
                "nextFundingTime": (self.engine.now_ms() // 28_800_000 + 1) * 28_800_000,
                "time": self.engine.now_ms(),
            }
            for s in ([symbol] if symbol else self.emu.markets)
        ]
        return Response.of_json(200, rows[0] if symbol else rows)


def _select(candles: list[Candle], start: int | None, end: int | None, limit: int) -> list[Candle]:
    """Binance kline paging: from startTime forwards, else the latest ``limit`` up to endTime."""
    times = [c.open_time for c in candles]
    hi = bisect.bisect_right(times, end) if end is not None else len(candles)
    if start is not None:
        lo = bisect.bisect_left(times, start)
        return candles[lo:hi][:limit]
    return candles[max(0, hi - limit) : hi]
