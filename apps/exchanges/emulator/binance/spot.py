"""Binance spot (/api/v3) dialect: the subset ccxt's ``binance`` class (defaultType 'spot') uses.

Markets, klines and tickers reuse the USDⓈ-M endpoint code; dispatch, API-key, signature and recvWindow checks
are ``BinanceBase``'s. Orders run on :class:`SpotEngine` (balances, no positions). Order types: MARKET,
LIMIT, LIMIT_MAKER, STOP_LOSS_LIMIT / TAKE_PROFIT_LIMIT (stopPrice + price) and STOP_LOSS / TAKE_PROFIT
(stopPrice), all on ``/api/v3/order``; a stop order keeps its id and client id when it triggers.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from apps.exchanges.emulator.binance.base import CLIENT_ID_RANGE, ERRORS, MONEY, error, missing
from apps.exchanges.emulator.binance.market_data import MarketData
from apps.exchanges.emulator.engine import EngineError, Order, OrderType, Reason, Side
from apps.exchanges.emulator.markets import LeverageTier, MarketSpec, binance_spot_markets
from apps.exchanges.emulator.spot_engine import SpotEngine
from apps.exchanges.emulator.wire import Response, Router, decimals, fmt

if TYPE_CHECKING:
    from apps.exchanges.emulator.emulator import ExchangeEmulator

# wire type -> (engine type, time in force override)
WIRE_TYPES: dict[str, tuple[OrderType, str | None]] = {
    "MARKET": (OrderType.MARKET, None),
    "LIMIT": (OrderType.LIMIT, None),
    "LIMIT_MAKER": (OrderType.LIMIT, "GTX"),
    "STOP_LOSS": (OrderType.STOP_MARKET, None),
    "TAKE_PROFIT": (OrderType.TAKE_PROFIT_MARKET, None),
    "STOP_LOSS_LIMIT": (OrderType.STOP, None),
    "TAKE_PROFIT_LIMIT": (OrderType.TAKE_PROFIT, None),
}
NEEDS_PRICE = {"LIMIT", "LIMIT_MAKER", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"}
NEEDS_TIF = {"LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"}
NEEDS_STOP = {"STOP_LOSS", "TAKE_PROFIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"}

FILTER_FAILURE = -1013
SPOT_ERRORS: dict[Reason, tuple[int, int, str]] = {
    **ERRORS,
    Reason.BAD_QUANTITY: (400, FILTER_FAILURE, "Filter failure: LOT_SIZE"),
    Reason.QTY_STEP: (400, FILTER_FAILURE, "Filter failure: LOT_SIZE"),
    Reason.QTY_BELOW_MIN: (400, FILTER_FAILURE, "Filter failure: LOT_SIZE"),
    Reason.QTY_ABOVE_MAX: (400, FILTER_FAILURE, "Filter failure: LOT_SIZE"),
    Reason.PRICE_TICK: (400, FILTER_FAILURE, "Filter failure: PRICE_FILTER"),
    Reason.PRICE_INVALID: (400, FILTER_FAILURE, "Filter failure: PRICE_FILTER"),
    Reason.MIN_NOTIONAL: (400, FILTER_FAILURE, "Filter failure: NOTIONAL"),
    Reason.INSUFFICIENT_MARGIN: (400, -2010, "Account has insufficient balance for requested action."),
    Reason.WOULD_TRIGGER_IMMEDIATELY: (400, -2010, "Stop price would trigger immediately."),
    Reason.DUPLICATE_CLIENT_ID: (400, -2010, "Duplicate order sent."),
    Reason.POST_ONLY_WOULD_TAKE: (400, -2010, "Order would immediately match and take."),
    Reason.REDUCE_ONLY_REJECTED: (400, -1104, "Not all sent parameters were read; read 0 parameter(s)."),
}


class BinanceSpotDialect(MarketData):
    """Routes /api/v3 requests; unknown paths answer 404 and are listed as emulator gaps."""

    name = "binance"
    errors = SPOT_ERRORS
    engine_class = SpotEngine

    def __init__(self, emulator: ExchangeEmulator) -> None:
        super().__init__(emulator)
        self.router = Router()
        r = self.router.add
        r("GET", "/api/v3/ping", self.ping)
        r("GET", "/api/v3/time", self.time)
        r("GET", "/api/v3/exchangeInfo", self.exchange_info)
        r("GET", "/api/v3/klines", self.klines)
        r("GET", "/api/v3/uiKlines", self.klines)
        r("GET", "/api/v3/ticker/24hr", self.ticker_24hr)
        r("GET", "/api/v3/ticker/price", self.ticker_price)
        r("GET", "/api/v3/ticker/bookTicker", self.book_ticker)
        r("GET", "/api/v3/depth", self.depth)
        r("GET", "/api/v3/account", self.account, "signed")
        r("POST", "/api/v3/order", self.new_order, "signed")
        r("GET", "/api/v3/order", self.query_order, "signed")
        r("DELETE", "/api/v3/order", self.cancel_order, "signed")
        r("GET", "/api/v3/openOrders", self.open_orders, "signed")
        r("GET", "/api/v3/allOrders", self.all_orders, "signed")
        r("GET", "/api/v3/myTrades", self.my_trades, "signed")
        # What else ccxt 4.5.90's binance load_markets() asks for by default (fetchMarkets types spot, linear and
        # inverse; fetchCurrencies and fetchMargins on when keys are set): answered as "nothing there".
        r("GET", "/sapi/v1/capital/config/getall", self.empty_list, "signed")
        r("GET", "/sapi/v1/margin/allPairs", self.empty_list, "signed")
        r("GET", "/sapi/v1/margin/isolated/allPairs", self.empty_list, "signed")
        r("GET", "/fapi/v1/exchangeInfo", self.no_symbols)
        r("GET", "/dapi/v1/exchangeInfo", self.no_symbols)

    @property
    def spot(self) -> SpotEngine:
        engine = self.engine
        assert isinstance(engine, SpotEngine)
        return engine

    # --- dialect protocol ------------------------------------------------------------------------------
    def markets(self, tiers: dict[str, tuple[LeverageTier, ...]]) -> dict[str, MarketSpec]:
        specs = binance_spot_markets()
        self._ids = {self.market_id(spec): symbol for symbol, spec in specs.items()}
        return specs

    @staticmethod
    def ccxt_urls(base_url: str) -> dict[str, Any]:
        return {
            "public": f"{base_url}/api/v3",
            "private": f"{base_url}/api/v3",
            "v1": f"{base_url}/api/v1",
            "sapi": f"{base_url}/sapi/v1",
            "sapiV2": f"{base_url}/sapi/v2",
            "sapiV3": f"{base_url}/sapi/v3",
            "sapiV4": f"{base_url}/sapi/v4",
            "fapiPublic": f"{base_url}/fapi/v1",
            "dapiPublic": f"{base_url}/dapi/v1",
        }

    # --- market data -----------------------------------------------------------------------------------
    def exchange_info(self, params: dict[str, str]) -> Response:
        return Response.of_json(
            200,
            {
                "timezone": "UTC",
                "serverTime": self.engine.now_ms(),
                "rateLimits": [
                    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
                    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
                    {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
                ],
                "exchangeFilters": [],
                "symbols": [self._spot_symbol_info(spec) for spec in self.emu.markets.values()],
            },
        )

    def _spot_symbol_info(self, spec: MarketSpec) -> dict[str, Any]:
        places = decimals(spec.step_size)
        return {
            "symbol": self.market_id(spec),
            "status": "TRADING",
            "baseAsset": spec.base,
            "baseAssetPrecision": 8,
            "quoteAsset": spec.quote,
            "quotePrecision": 8,
            "quoteAssetPrecision": 8,
            "baseCommissionPrecision": 8,
            "quoteCommissionPrecision": 8,
            "orderTypes": list(WIRE_TYPES),
            "icebergAllowed": True,
            "ocoAllowed": True,
            "otoAllowed": True,
            "quoteOrderQtyMarketAllowed": True,
            "allowTrailingStop": True,
            "cancelReplaceAllowed": True,
            "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": False,
            "filters": [
                {
                    "filterType": "PRICE_FILTER",
                    "minPrice": fmt(spec.tick_size, 8),
                    "maxPrice": "1000000.00000000",
                    "tickSize": fmt(spec.tick_size, 8),
                },
                {
                    "filterType": "LOT_SIZE",
                    "minQty": fmt(spec.min_qty, 8),
                    "maxQty": fmt(spec.max_qty, 8),
                    "stepSize": fmt(spec.step_size, 8),
                },
                {"filterType": "ICEBERG_PARTS", "limit": 10},
                {
                    "filterType": "MARKET_LOT_SIZE",
                    "minQty": fmt(Decimal(0), 8),
                    "maxQty": fmt(spec.market_max_qty, places),
                    "stepSize": fmt(Decimal(0), 8),
                },
                {"filterType": "TRAILING_DELTA", "minTrailingAboveDelta": 10, "maxTrailingAboveDelta": 2000},
                {
                    "filterType": "NOTIONAL",
                    "minNotional": fmt(spec.min_notional, 8),
                    "applyMinToMarket": True,
                    "maxNotional": "9000000.00000000",
                    "applyMaxToMarket": False,
                    "avgPriceMins": 5,
                },
                {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
                {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 5},
            ],
            "permissions": [],
            "permissionSets": [["SPOT"]],
            "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
            "allowedSelfTradePreventionModes": ["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
        }

    def _ticker(self, symbol: str) -> dict[str, Any]:
        row = super()._ticker(symbol)
        book = self._book_row(symbol)
        row.update(
            prevClosePrice=row["openPrice"],
            bidPrice=book["bidPrice"],
            bidQty=book["bidQty"],
            askPrice=book["askPrice"],
            askQty=book["askQty"],
        )
        return row

    # --- account ---------------------------------------------------------------------------------------
    def account(self, params: dict[str, str]) -> Response:
        engine = self.spot
        balances = [
            {"asset": asset, "free": fmt(engine.free(asset), MONEY), "locked": fmt(engine.locked(asset), MONEY)}
            for asset in engine.balances
        ]
        taker, maker = fmt(engine.config.taker_fee, MONEY), fmt(engine.config.maker_fee, MONEY)
        return Response.of_json(
            200,
            {
                "makerCommission": int(engine.config.maker_fee * 10_000),
                "takerCommission": int(engine.config.taker_fee * 10_000),
                "buyerCommission": 0,
                "sellerCommission": 0,
                "commissionRates": {"maker": maker, "taker": taker, "buyer": "0.00000000", "seller": "0.00000000"},
                "canTrade": True,
                "canWithdraw": True,
                "canDeposit": True,
                "brokered": False,
                "requireSelfTradePrevention": False,
                "preventSor": False,
                "updateTime": engine.now_ms(),
                "accountType": "SPOT",
                "balances": balances,
                "permissions": ["SPOT"],
                "uid": 354937868,
            },
        )

    def empty_list(self, params: dict[str, str]) -> Response:
        return Response.of_json(200, [])

    def no_symbols(self, params: dict[str, str]) -> Response:
        return Response.of_json(200, {"timezone": "UTC", "serverTime": self.engine.now_ms(), "symbols": []})

    # --- orders ----------------------------------------------------------------------------------------
    def new_order(self, params: dict[str, str]) -> Response:
        symbol = self._symbol(params)
        assert symbol is not None
        side_raw = params.get("side")
        if not side_raw:
            raise missing("side")
        if side_raw not in ("BUY", "SELL"):
            raise error(400, -1117, "Invalid side.")
        type_raw = params.get("type")
        if not type_raw:
            raise missing("type")
        if type_raw not in WIRE_TYPES:
            raise error(400, -1116, "Invalid orderType.")
        if "reduceOnly" in params or "positionSide" in params or "closePosition" in params:
            raise error(400, -1104, "Not all sent parameters were read; read 0 parameter(s).")
        if "quoteOrderQty" in params:
            raise error(400, -1106, "Parameter 'quoteOrderQty' sent when not required. (not emulated)")
        order_type, forced_tif = WIRE_TYPES[type_raw]
        qty = self._decimal(params, "quantity")
        if qty is None:
            raise missing("quantity")
        price = self._decimal(params, "price")
        if type_raw in NEEDS_PRICE and price is None:
            raise missing("price")
        if type_raw not in NEEDS_PRICE and price is not None:
            raise error(400, -1106, "Parameter 'price' sent when not required.")
        tif = params.get("timeInForce")
        if type_raw in NEEDS_TIF and not tif:
            raise missing("timeInForce")
        stop = self._decimal(params, "stopPrice")
        if type_raw in NEEDS_STOP and stop is None:
            raise missing("stopPrice")
        client_id = params.get("newClientOrderId")
        if client_id is not None and not 1 <= len(client_id) <= 36:
            raise error(
                400,
                -1100,
                f"Illegal characters found in parameter 'newClientOrderId'; legal range is {CLIENT_ID_RANGE}.",
            )
        order = self.engine.place_order(
            symbol=symbol,
            side=Side(side_raw),
            type=order_type,
            qty=qty,
            price=price,
            trigger_price=stop,
            time_in_force=forced_tif or tif or "GTC",
            client_id=client_id,
            extra={"wire_type": type_raw},
        )
        body = self._order(order)
        resp_type = params.get("newOrderRespType", "FULL")
        if resp_type == "ACK":
            body = {k: body[k] for k in ("symbol", "orderId", "orderListId", "clientOrderId")}
        elif resp_type == "FULL":
            body["fills"] = [
                {
                    "price": self._price(symbol, f.price),
                    "qty": self._qty(symbol, f.qty),
                    "commission": fmt(f.fee, MONEY),
                    "commissionAsset": str(order.extra.get("commission_asset", "")),
                    "tradeId": f.id,
                }
                for f in self.engine.fills
                if f.order_id == order.id
            ]
        body["transactTime"] = order.created_ms
        return Response.of_json(200, body)

    def _find(self, params: dict[str, str]) -> Order:
        symbol = self._symbol(params)
        order_id, client_id = params.get("orderId"), params.get("origClientOrderId")
        if not order_id and not client_id:
            raise error(400, -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!")
        if order_id:
            order = self.engine.orders.get(int(order_id))
        else:
            order = next((o for o in reversed(self.engine.orders.values()) if o.client_id == client_id), None)
        if order is None or order.symbol != symbol:
            raise EngineError(Reason.UNKNOWN_ORDER)
        return order

    def query_order(self, params: dict[str, str]) -> Response:
        return Response.of_json(200, self._order(self._find(params)))

    def cancel_order(self, params: dict[str, str]) -> Response:
        try:
            order = self._find(params)
            self.engine.cancel_order(order)
        except EngineError as exc:
            if exc.reason in (Reason.UNKNOWN_ORDER, Reason.ORDER_FINAL):
                raise error(400, -2011, "Unknown order sent.") from exc
            raise
        body = self._order(order)
        body["origClientOrderId"] = order.client_id
        body["clientOrderId"] = params.get("newClientOrderId") or f"cancel-{order.id}"
        body["transactTime"] = order.updated_ms
        return Response.of_json(200, body)

    def open_orders(self, params: dict[str, str]) -> Response:
        symbol = self._symbol(params, required=False)
        return Response.of_json(200, [self._order(o) for o in self.engine.open_orders(symbol)])

    def all_orders(self, params: dict[str, str]) -> Response:
        symbol = self._symbol(params)
        orders = [o for o in self.engine.orders.values() if o.symbol == symbol]
        return Response.of_json(200, [self._order(o) for o in orders[-int(params.get("limit", 500)) :]])

    def my_trades(self, params: dict[str, str]) -> Response:
        symbol = self._symbol(params)
        assert symbol is not None
        rows = []
        for f in self.engine.fills:
            if f.symbol != symbol:
                continue
            order = self.engine.orders[f.order_id]
            rows.append(
                {
                    "symbol": self._id(symbol),
                    "id": f.id,
                    "orderId": f.order_id,
                    "orderListId": -1,
                    "price": self._price(symbol, f.price),
                    "qty": self._qty(symbol, f.qty),
                    "quoteQty": fmt(f.qty * f.price, MONEY),
                    "commission": fmt(f.fee, MONEY),
                    "commissionAsset": str(order.extra.get("commission_asset", "")),
                    "time": f.time_ms,
                    "isBuyer": f.side is Side.BUY,
                    "isMaker": f.maker,
                    "isBestMatch": True,
                }
            )
        return Response.of_json(200, rows[-int(params.get("limit", 500)) :])

    def _order(self, order: Order) -> dict[str, Any]:
        s = order.symbol
        wire_type = str(order.extra.get("wire_type", order.type.value))
        working = order.trigger_price is None or order.triggered_ms is not None
        body: dict[str, Any] = {
            "symbol": self._id(s),
            "orderId": order.id,
            "orderListId": -1,
            "clientOrderId": order.client_id,
            "price": fmt(order.price or Decimal(0), 8),
            "origQty": fmt(order.qty, 8),
            "executedQty": fmt(order.filled, 8),
            "cummulativeQuoteQty": fmt(order.cum_quote, 8),
            "status": order.status.value,
            "timeInForce": "GTC" if order.time_in_force == "GTX" else order.time_in_force,
            "type": wire_type,
            "side": order.side.value,
            "time": order.created_ms,
            "updateTime": order.updated_ms,
            "isWorking": working,
            "workingTime": (order.triggered_ms or order.created_ms) if working else -1,
            "origQuoteOrderQty": "0.00000000",
            "selfTradePreventionMode": "EXPIRE_MAKER",
        }
        if order.trigger_price is not None:
            body["stopPrice"] = fmt(order.trigger_price, 8)
        return body
