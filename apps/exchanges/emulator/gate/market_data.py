"""Gate futures public market data: contracts, tickers, candlesticks, order book."""

from __future__ import annotations

import bisect
from decimal import Decimal
from typing import Any

from apps.exchanges.emulator.candles import interval_ms
from apps.exchanges.emulator.gate.base import MAX_POINTS, MAX_POINTS_AGO, GateBase, error, seconds
from apps.exchanges.emulator.wire import Request, Response, fmt


class MarketData(GateBase):
    """Public market data endpoints (no signature)."""

    # --- public market data ----------------------------------------------------------------------------
    def time(self, request: Request) -> Response:
        return Response.of_json(200, {"server_time": self.engine.now_ms()})

    def empty_list(self, request: Request) -> Response:
        return Response.of_json(200, [])

    def contracts(self, request: Request) -> Response:
        return Response.of_json(200, [self._contract_info(s) for s in self.emu.markets])

    def contract(self, request: Request, contract: str) -> Response:
        return Response.of_json(200, self._contract_info(self._contract(contract)))

    def _contract_info(self, symbol: str) -> dict[str, Any]:
        spec = self._spec(symbol)
        mark = self._price(symbol, self.engine.mark(symbol))
        tier1 = spec.tiers[0] if spec.tiers else None
        funding_next = (self.engine.now_ms() // 28_800_000 + 1) * 28_800
        return {
            "name": self._id(symbol),
            "type": "direct",
            "quanto_multiplier": str(spec.contract_size),
            "ref_discount_rate": "0",
            "order_price_deviate": "0.5",
            "maintenance_rate": str(tier1.maint_margin_ratio if tier1 else Decimal("0.005")),
            "mark_type": "index",
            "last_price": mark,
            "mark_price": mark,
            "index_price": mark,
            "funding_rate_indicative": "0.0001",
            "mark_price_round": str(spec.tick_size / 10),
            "funding_offset": 0,
            "in_delisting": False,
            "risk_limit_base": str(tier1.cap if tier1 else 1_000_000),
            "interest_rate": "0.0003",
            "order_price_round": str(spec.tick_size),
            "order_size_min": self._contracts(symbol, spec.min_qty),
            "ref_rebate_rate": "0.2",
            "funding_interval": 28800,
            "risk_limit_step": "1000000",
            "leverage_min": "1",
            "leverage_max": str(spec.max_leverage),
            "risk_limit_max": str(spec.tiers[-1].cap if spec.tiers else 10_000_000),
            "maker_fee_rate": str(self.engine.config.maker_fee),
            "taker_fee_rate": str(self.engine.config.taker_fee),
            "funding_rate": "0.0001",
            "order_size_max": self._contracts(symbol, spec.max_qty),
            "funding_next_apply": funding_next,
            "short_users": 1,
            "config_change_time": 1_700_000_000,
            "trade_size": 1,
            "position_size": 1,
            "long_users": 1,
            "funding_impact_value": "60000",
            "orders_limit": 100,
            "trade_id": 1,
            "orderbook_id": 1,
            "enable_bonus": True,
            "enable_credit": True,
            "create_time": 1_669_688_556,
            "funding_cap_ratio": "0.75",
            "status": "trading",
            "launch_time": 1_669_688_556,
            "enable_decimal": False,
            "cross_leverage_default": str(spec.default_leverage),
            "market_order_slip_ratio": "0.05",
            "market_order_size_max": str(self._contracts(symbol, spec.market_max_qty)),
        }

    def tickers(self, request: Request) -> Response:
        raw = request.query().get("contract")
        symbols = [self._contract(raw)] if raw else list(self.emu.markets)
        return Response.of_json(200, [self._ticker(s) for s in symbols])

    def _ticker(self, symbol: str) -> dict[str, Any]:
        history = self.engine.feed.history(symbol)
        start = bisect.bisect_right([c.open_time for c in history], history[-1].open_time - 86_400_000)
        day = history[start:]
        last = self.engine.mark(symbol)
        open_ = day[0].open
        base_volume = sum((c.volume for c in day), Decimal(0))
        quote_volume = sum((c.volume * c.close for c in day), Decimal(0))
        tick = self._spec(symbol).tick_size
        return {
            "contract": self._id(symbol),
            "last": self._price(symbol, last),
            "change_percentage": fmt((last - open_) / open_ * 100, 2),
            "change_price": self._price(symbol, last - open_),
            "total_size": "1000000",
            "volume_24h": str(self._contracts(symbol, base_volume)),
            "volume_24h_base": fmt(base_volume, 4),
            "volume_24h_quote": fmt(quote_volume, 2),
            "volume_24h_settle": fmt(quote_volume, 2),
            "mark_price": self._price(symbol, last),
            "funding_rate": "0.0001",
            "funding_rate_indicative": "0.0001",
            "index_price": self._price(symbol, last),
            "quanto_base_rate": "",
            "low_24h": self._price(symbol, min(c.low for c in day)),
            "high_24h": self._price(symbol, max(c.high for c in day)),
            "lowest_ask": self._price(symbol, last + tick),
            "lowest_size": "1000",
            "highest_bid": self._price(symbol, last),
            "highest_size": "1000",
        }

    def order_book(self, request: Request) -> Response:
        symbol = self._contract(request.query().get("contract"))
        last, tick = self.engine.mark(symbol), self._spec(symbol).tick_size
        levels = min(int(request.query().get("limit", 10)), 50)
        now = self.engine.now_ms()
        return Response.of_json(
            200,
            {
                "id": now,
                "current": seconds(now),
                "update": seconds(now),
                "asks": [{"p": self._price(symbol, last + tick * (i + 1)), "s": 1000} for i in range(levels)],
                "bids": [{"p": self._price(symbol, last - tick * i), "s": 1000} for i in range(levels)],
            },
        )

    def candlesticks(self, request: Request) -> Response:
        q = request.query()
        raw = q.get("contract", "")
        for prefix in ("mark_", "index_"):  # mark and index candles: the emulator has one price
            raw = raw.removeprefix(prefix)
        symbol = self._contract(raw)
        try:
            period = interval_ms(q.get("interval", "5m"))
            candles = self.engine.feed.history(symbol, period)
        except ValueError:
            raise error(
                400, "INVALID_PARAM_VALUE", f"Invalid parameter `interval` with value: {q.get('interval')}"
            ) from None
        if "limit" in q and "from" in q:
            raise error(400, "INVALID_PARAM_VALUE", "limit is conflicted with from and to")
        step = period // 1000
        newest = candles[-1].open_time // 1000
        to = int(q["to"]) if "to" in q else newest
        times = [c.open_time // 1000 for c in candles]
        hi = bisect.bisect_right(times, to)
        if "from" in q:
            start = int(q["from"])
            if (newest - start) // step > MAX_POINTS_AGO:
                raise error(
                    400,
                    "INVALID_PARAM_VALUE",
                    f"Candlestick too long ago. Maximum {MAX_POINTS_AGO} points ago are allowed",
                )
            if (to - start) // step + 1 > MAX_POINTS:
                raise error(
                    400, "INVALID_PARAM_VALUE", f"Too many points requested. Maximum {MAX_POINTS} points allowed"
                )
            rows = candles[bisect.bisect_left(times, start) : hi]
        else:
            limit = int(q.get("limit", 100))
            if not 1 <= limit <= MAX_POINTS:
                raise error(400, "INVALID_PARAM_VALUE", f"Invalid parameter `limit` with value: {limit}")
            rows = candles[max(0, hi - limit) : hi]
        return Response.of_json(
            200,
            [
                {
                    "t": c.open_time // 1000,
                    "v": self._contracts(symbol, c.volume),
                    "c": self._price(symbol, c.close),
                    "h": self._price(symbol, c.high),
                    "l": self._price(symbol, c.low),
                    "o": self._price(symbol, c.open),
                    "sum": fmt(c.volume * c.close, 4),
                }
                for c in rows
            ],
        )
