"""Binance fapi orders: regular orders on /fapi/v1/order, conditional ones on /fapi/v1/algoOrder."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from apps.exchanges.emulator.binance.base import CLIENT_ID_RANGE, BinanceBase, error, missing
from apps.exchanges.emulator.engine import CONDITIONAL_TYPES, EngineError, Order, OrderStatus, OrderType, Reason, Side
from apps.exchanges.emulator.wire import Response, decimals, fmt, parse_bool


class Orders(BinanceBase):
    """Regular and algo (conditional) order endpoints (signed)."""

    # --- orders ----------------------------------------------------------------------------------------
    def _order_params(self, params: dict[str, str], *, algo: bool) -> dict[str, Any]:
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
        try:
            order_type = OrderType(type_raw)
        except ValueError:
            raise error(400, -1116, "Invalid orderType.") from None
        if params.get("positionSide", "BOTH") != "BOTH":
            raise error(400, -4061, "Order's position side does not match user's setting.")
        close_position = parse_bool(params.get("closePosition"))
        reduce_only = parse_bool(params.get("reduceOnly"))
        if close_position and reduce_only:
            raise error(400, -1106, "Parameter 'reduceOnly' sent when not required.")
        if close_position and order_type not in (OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET):
            raise error(400, -4136, f"Target strategy invalid for orderType {order_type.value},closePosition true")
        qty = self._decimal(params, "quantity")
        if qty is None and not close_position:
            raise missing("quantity")
        price = self._decimal(params, "price")
        if order_type in (OrderType.LIMIT, OrderType.STOP, OrderType.TAKE_PROFIT) and price is None:
            raise missing("price")
        tif = params.get("timeInForce")
        if order_type is OrderType.LIMIT and not tif:
            raise missing("timeInForce")
        trigger = self._decimal(params, "triggerPrice" if algo else "stopPrice")
        if order_type in CONDITIONAL_TYPES and trigger is None:
            raise missing("triggerPrice" if algo else "stopPrice")
        client_key = "clientAlgoId" if algo else "newClientOrderId"
        client_id = params.get(client_key)
        if client_id is not None and not 1 <= len(client_id) <= 36:
            raise error(
                400,
                -1100,
                f"Illegal characters found in parameter '{client_key}'; legal range is {CLIENT_ID_RANGE}.",
            )
        return {
            "symbol": symbol,
            "side": Side(side_raw),
            "type": order_type,
            "qty": qty or Decimal(0),
            "price": price,
            "trigger_price": trigger,
            "reduce_only": reduce_only,
            "close_position": close_position,
            "time_in_force": tif or "GTC",
            "client_id": client_id,
            "extra": {
                "workingType": params.get("workingType", "CONTRACT_PRICE"),
                "priceProtect": parse_bool(params.get("priceProtect")),
            },
        }

    def new_order(self, params: dict[str, str]) -> Response:
        type_raw = params.get("type", "")
        if type_raw in {t.value for t in CONDITIONAL_TYPES} | {"TRAILING_STOP_MARKET"}:
            raise error(
                400,
                -4120,
                "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead.",
            )
        order = self.engine.place_order(**self._order_params(params, algo=False))
        return Response.of_json(200, self._order(order))

    def _find_order(self, params: dict[str, str]) -> Order:
        symbol = self._symbol(params)
        order_id, client_id = params.get("orderId"), params.get("origClientOrderId")
        if not order_id and not client_id:
            raise error(400, -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!")
        order = (
            self.engine.get_order(int(order_id), conditional=False)
            if order_id
            else self.engine.find_by_client_id(client_id or "", conditional=False)
        )
        if order.symbol != symbol:
            raise EngineError(Reason.UNKNOWN_ORDER)
        return order

    def query_order(self, params: dict[str, str]) -> Response:
        return Response.of_json(200, self._order(self._find_order(params)))

    def query_open_order(self, params: dict[str, str]) -> Response:
        order = self._find_order(params)
        if not order.is_open:
            raise error(400, -2013, "Order does not exist.")
        return Response.of_json(200, self._order(order))

    def cancel_order(self, params: dict[str, str]) -> Response:
        try:
            order = self._find_order(params)
            self.engine.cancel_order(order)
        except EngineError as exc:
            if exc.reason in (Reason.UNKNOWN_ORDER, Reason.ORDER_FINAL):
                raise error(400, -2011, "Unknown order sent.") from exc
            raise
        return Response.of_json(200, self._order(order))

    def open_orders(self, params: dict[str, str]) -> Response:
        symbol = self._symbol(params, required=False)
        return Response.of_json(200, [self._order(o) for o in self.engine.open_orders(symbol, conditional=False)])

    def all_orders(self, params: dict[str, str]) -> Response:
        symbol = self._symbol(params)
        orders = [o for o in self.engine.orders.values() if not o.conditional and o.symbol == symbol]
        return Response.of_json(200, [self._order(o) for o in _window(orders, params)])

    def cancel_all(self, params: dict[str, str]) -> Response:
        symbol = self._symbol(params)
        assert symbol is not None
        self.engine.cancel_all(symbol, conditional=False)
        return Response.of_json(200, {"code": 200, "msg": "The operation of cancel all open order is done."})

    def _order(self, order: Order) -> dict[str, Any]:
        s = order.symbol
        return {
            "orderId": order.id,
            "symbol": self._id(s),
            "status": order.status.value,
            "clientOrderId": order.client_id,
            "price": self._price(s, order.price),
            "avgPrice": fmt(order.avg_price, 5),
            "origQty": self._qty(s, order.qty),
            "executedQty": self._qty(s, order.filled),
            "cumQty": self._qty(s, order.filled),
            "cumQuote": fmt(order.cum_quote, 5),
            "timeInForce": order.time_in_force,
            "type": order.type.value,
            "reduceOnly": order.reduce_only,
            "closePosition": order.close_position,
            "side": order.side.value,
            "positionSide": "BOTH",
            "stopPrice": self._price(s, order.trigger_price),
            "workingType": order.extra.get("workingType", "CONTRACT_PRICE"),
            "priceProtect": bool(order.extra.get("priceProtect", False)),
            "origType": order.extra.get("orig_type", order.type.value),
            "priceMatch": "NONE",
            "selfTradePreventionMode": "EXPIRE_MAKER",
            "goodTillDate": 0,
            "time": order.created_ms,
            "updateTime": order.updated_ms,
        }

    # --- algo (conditional) orders ---------------------------------------------------------------------
    def new_algo_order(self, params: dict[str, str]) -> Response:
        algo_type = params.get("algoType")
        if not algo_type:
            raise missing("algoType")
        if algo_type != "CONDITIONAL":
            raise error(400, -1116, "Invalid algoType.")
        if params.get("type") not in {t.value for t in CONDITIONAL_TYPES}:
            raise error(400, -1116, "Invalid orderType.")
        order = self.engine.place_order(**self._order_params(params, algo=True))
        return Response.of_json(200, self._algo(order))

    def _find_algo(self, params: dict[str, str]) -> Order:
        algo_id, client_id = params.get("algoId"), params.get("clientAlgoId")
        if not algo_id and not client_id:
            raise error(400, -1102, "Param 'clientAlgoId' or 'algoId' must be sent, but both were empty/null!")
        if algo_id:
            return self.engine.get_order(int(algo_id), conditional=True)
        return self.engine.find_by_client_id(client_id or "", conditional=True)

    def query_algo_order(self, params: dict[str, str]) -> Response:
        return Response.of_json(200, self._algo(self._find_algo(params)))

    def cancel_algo_order(self, params: dict[str, str]) -> Response:
        try:
            order = self.engine.cancel_order(self._find_algo(params))
        except EngineError as exc:
            if exc.reason in (Reason.UNKNOWN_ORDER, Reason.ORDER_FINAL):
                raise error(400, -2011, "Unknown order sent.") from exc
            raise
        return Response.of_json(
            200, {"algoId": order.id, "clientAlgoId": order.client_id, "code": "200", "msg": "success"}
        )

    def open_algo_orders(self, params: dict[str, str]) -> Response:
        symbol = self._symbol(params, required=False)
        return Response.of_json(200, [self._algo(o) for o in self.engine.open_orders(symbol, conditional=True)])

    def all_algo_orders(self, params: dict[str, str]) -> Response:
        symbol = self._symbol(params)
        orders = [o for o in self.engine.orders.values() if o.conditional and o.symbol == symbol]
        return Response.of_json(200, [self._algo(o) for o in _window(orders, params)])

    def cancel_all_algo(self, params: dict[str, str]) -> Response:
        symbol = self._symbol(params)
        assert symbol is not None
        self.engine.cancel_all(symbol, conditional=True)
        return Response.of_json(200, {"code": 200, "msg": "success"})

    def _algo_status(self, order: Order) -> str:
        if order.status is OrderStatus.TRIGGERED:
            child = self.engine.orders.get(order.child_id or -1)
            return "TRIGGERED" if child and child.is_open else "FINISHED"
        return order.status.value

    def _algo(self, order: Order) -> dict[str, Any]:
        s = order.symbol
        child = self.engine.orders.get(order.child_id or -1)
        return {
            "algoId": order.id,
            "clientAlgoId": order.client_id,
            "algoType": "CONDITIONAL",
            "orderType": order.type.value,
            "symbol": self._id(s),
            "side": order.side.value,
            "positionSide": "BOTH",
            "timeInForce": order.time_in_force,
            "quantity": self._qty(s, order.qty),
            "algoStatus": self._algo_status(order),
            "actualOrderId": str(child.id) if child else "",
            "actualPrice": fmt(child.avg_price, decimals(self._spec(s).tick_size)) if child else "0",
            "triggerPrice": self._price(s, order.trigger_price),
            "price": self._price(s, order.price),
            "icebergQuantity": None,
            "tpTriggerPrice": "0.000",
            "tpPrice": "0.000",
            "slTriggerPrice": "0.000",
            "slPrice": "0.000",
            "tpOrderType": "",
            "selfTradePreventionMode": "EXPIRE_MAKER",
            "workingType": order.extra.get("workingType", "CONTRACT_PRICE"),
            "priceMatch": "NONE",
            "closePosition": order.close_position,
            "priceProtect": bool(order.extra.get("priceProtect", False)),
            "reduceOnly": order.reduce_only,
            "createTime": order.created_ms,
            "updateTime": order.updated_ms,
            "triggerTime": order.triggered_ms or 0,
            "goodTillDate": 0,
        }


def _window(orders: list[Order], params: dict[str, str]) -> list[Order]:
    start, end = params.get("startTime"), params.get("endTime")
    orders = [o for o in orders if (not start or o.created_ms >= int(start)) and (not end or o.created_ms <= int(end))]
    if params.get("orderId") or params.get("algoId"):
        first = int(params.get("orderId") or params.get("algoId") or 0)
        orders = [o for o in orders if o.id >= first]
    return orders[-int(params.get("limit", 500)) :]
