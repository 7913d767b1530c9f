"""Gate futures orders: plain orders and price-triggered (conditional) orders."""

from __future__ import annotations

from typing import Any

from apps.exchanges.emulator.engine import EngineError, Order, OrderStatus, OrderType, Reason, Side
from apps.exchanges.emulator.gate.base import USER_ID, GateBase, error, seconds
from apps.exchanges.emulator.wire import Request, Response


class Orders(GateBase):
    """Order and price-triggered order endpoints (signed)."""

    # --- orders ----------------------------------------------------------------------------------------
    def create_order(self, request: Request) -> Response:
        body = self._body(request)
        symbol = self._contract(body.get("contract"))
        size = self._parse_size(body.get("size", 0))
        price = self._parse_price(body.get("price"))
        tif = str(body.get("tif", "gtc")).lower()
        close = bool(body.get("close", False))
        reduce_only = bool(body.get("reduce_only", False))
        text = self._text(body.get("text"))
        if tif not in ("gtc", "ioc", "poc", "fok"):
            raise error(400, "INVALID_PARAM_VALUE", f"Invalid parameter `tif` with value: {tif}")
        if price == 0 and tif not in ("ioc", "fok"):
            raise error(400, "INVALID_PARAM_VALUE", "market order requires tif ioc")
        if size == 0 and not close:
            raise error(400, "INVALID_PARAM_VALUE", "Invalid parameter `size` with value: 0")
        if close and size != 0:
            raise error(400, "INVALID_PARAM_VALUE", "size must be 0 when close is set")
        pos = self.engine.position(symbol)
        if close:
            if not pos.qty:
                raise error(400, "POSITION_EMPTY", "Position is empty")
            side = Side.SELL if pos.qty > 0 else Side.BUY
        else:
            side = Side.BUY if size > 0 else Side.SELL
        order = self.engine.place_order(
            symbol=symbol,
            side=side,
            type=OrderType.MARKET if price == 0 else OrderType.LIMIT,
            qty=abs(size) * self._spec(symbol).contract_size,
            price=price or None,
            reduce_only=reduce_only,
            close_position=close,
            time_in_force={"gtc": "GTC", "ioc": "IOC", "poc": "GTX", "fok": "FOK"}[tif],
            client_id=text,
            extra={"tif": tif, "is_close": close},
        )
        return Response.of_json(201, self._order(order))

    def _find(self, order_id: str, *, conditional: bool) -> Order:
        if order_id.startswith("t-") and not conditional:
            order = self.engine.find_by_client_id(order_id, conditional=False)
            finished = order.finished_ms
            if finished is not None and self.engine.now_ms() - finished > self.text_lookup_window_s * 1000:
                raise EngineError(Reason.UNKNOWN_ORDER, order_id)
            return order
        if not order_id.isdigit():
            raise EngineError(Reason.UNKNOWN_ORDER, order_id)
        return self.engine.get_order(int(order_id), conditional=conditional)

    def get_order(self, request: Request, order_id: str) -> Response:
        return Response.of_json(200, self._order(self._find(order_id, conditional=False)))

    def cancel_order(self, request: Request, order_id: str) -> Response:
        order = self.engine.cancel_order(self._find(order_id, conditional=False))
        return Response.of_json(200, self._order(order))

    def list_orders(self, request: Request) -> Response:
        q = request.query()
        status = q.get("status")
        if status not in ("open", "finished"):
            raise error(400, "INVALID_PARAM_VALUE", f"Invalid parameter `status` with value: {status}")
        symbol = self._contract(q["contract"]) if q.get("contract") else None
        orders = [
            o
            for o in self.engine.orders.values()
            if not o.conditional and (symbol is None or o.symbol == symbol) and o.is_open == (status == "open")
        ]
        orders.sort(key=lambda o: o.id, reverse=True)
        offset, limit = int(q.get("offset", 0)), int(q.get("limit", 100))
        return Response.of_json(200, [self._order(o) for o in orders[offset : offset + limit]])

    def cancel_orders(self, request: Request) -> Response:
        symbol = self._contract(request.query().get("contract"))
        return Response.of_json(200, [self._order(o) for o in self.engine.cancel_all(symbol, conditional=False)])

    def _finish_fields(self, order: Order) -> tuple[str, str]:
        if order.is_open:
            return "open", "_new"
        if order.status is OrderStatus.FILLED:
            return "finished", "filled"
        if order.status is OrderStatus.CANCELED:
            return "finished", "cancelled"
        return "finished", order.finish_reason or "cancelled"  # ioc, reduce_only, ...

    def _order(self, order: Order) -> dict[str, Any]:
        s = order.symbol
        status, finish_as = self._finish_fields(order)
        size = self._signed(order.side, self._contracts(s, order.qty))
        left = self._signed(order.side, self._contracts(s, order.remaining))
        body: dict[str, Any] = {
            "id": order.id,
            "user": USER_ID,
            "create_time": seconds(order.created_ms),
            "update_time": seconds(order.updated_ms),
            "status": status,
            "finish_as": finish_as,
            "contract": self._id(s),
            "size": self._size(size),
            "iceberg": self._size(0),
            "price": self._price(s, order.price),
            "close": bool(order.extra.get("is_close", False)),
            "is_close": bool(order.extra.get("is_close", False)),
            "reduce_only": order.reduce_only,
            "is_reduce_only": order.reduce_only,
            "is_liq": False,
            "tif": order.extra.get("tif", "ioc" if order.type is OrderType.MARKET else "gtc"),
            "left": self._size(left),
            "fill_price": self._price(s, order.avg_price),
            "text": order.client_id,
            "tkfr": str(self.engine.config.taker_fee),
            "mkfr": str(self.engine.config.maker_fee),
            "refu": 0,
            "auto_size": "",
            "stp_id": 0,
            "stp_act": "-",
            "amend_text": "-",
            "biz_info": "-",
        }
        if order.finished_ms is not None:
            body["finish_time"] = seconds(order.finished_ms)
        return body

    # --- price-triggered orders ------------------------------------------------------------------------
    def create_price_order(self, request: Request) -> Response:
        body = self._body(request)
        initial, trigger = body.get("initial"), body.get("trigger")
        if not isinstance(initial, dict) or not isinstance(trigger, dict):
            raise error(400, "MISSING_REQUIRED_PARAM", "Missing required parameter: initial/trigger")
        symbol = self._contract(initial.get("contract"))
        size = self._parse_size(initial.get("size", 0))
        price = self._parse_price(initial.get("price"))
        tif = str(initial.get("tif", "gtc")).lower()
        close = bool(initial.get("close", False))
        reduce_only = bool(initial.get("reduce_only", False))
        text = self._text(initial.get("text"))
        trigger_price = self._parse_price(trigger.get("price"))
        rule = trigger.get("rule")
        if rule not in (1, 2):
            raise error(400, "INVALID_PARAM_VALUE", "invalid argument: Trigger.rule")
        if not trigger_price:
            raise error(400, "INVALID_PARAM_VALUE", "invalid argument: Trigger.Price")
        if trigger.get("strategy_type", 0) != 0:
            raise error(400, "INVALID_PARAM_VALUE", "only strategy_type 0 (by price) is emulated")
        if size == 0 and not close:
            raise error(400, "INVALID_PARAM_VALUE", "Invalid parameter `size` with value: 0")
        pos = self.engine.position(symbol)
        if size:
            side = Side.BUY if size > 0 else Side.SELL
        else:
            side = (Side.SELL if pos.qty > 0 else Side.BUY) if pos.qty else (Side.SELL if rule == 2 else Side.BUY)
        # sell when falling (rule 2, "<=") or buy when rising (rule 1, ">=") protects against loss: a stop.
        is_stop = (side is Side.SELL and rule == 2) or (side is Side.BUY and rule == 1)
        is_market = price == 0
        if is_market:
            order_type = OrderType.STOP_MARKET if is_stop else OrderType.TAKE_PROFIT_MARKET
        else:
            order_type = OrderType.STOP if is_stop else OrderType.TAKE_PROFIT
        try:
            order = self.engine.place_order(
                symbol=symbol,
                side=side,
                type=order_type,
                qty=abs(size) * self._spec(symbol).contract_size,
                price=price or None,
                trigger_price=trigger_price,
                reduce_only=reduce_only,
                close_position=close,
                time_in_force="IOC" if tif == "ioc" else "GTC",
                client_id=text,
                extra={
                    "tif": tif,
                    "is_close": close,
                    "rule": rule,
                    "price_type": trigger.get("price_type", 0),
                    "expiration": trigger.get("expiration", 0),
                    "size": size,
                },
            )
        except EngineError as exc:
            if exc.reason is Reason.WOULD_TRIGGER_IMMEDIATELY:
                if rule == 1:
                    raise error(
                        400, "AUTO_TRIGGER_PRICE_GREATE_LAST", "invalid argument: Trigger.Price must > last_price"
                    ) from exc
                raise error(
                    400, "AUTO_TRIGGER_PRICE_LESS_LAST", "invalid argument: Trigger.Price must < last_price"
                ) from exc
            raise
        return Response.of_json(201, {"id": order.id})

    def get_price_order(self, request: Request, order_id: str) -> Response:
        return Response.of_json(200, self._price_order(self._find(order_id, conditional=True)))

    def cancel_price_order(self, request: Request, order_id: str) -> Response:
        order = self.engine.cancel_order(self._find(order_id, conditional=True))
        return Response.of_json(200, self._price_order(order))

    def list_price_orders(self, request: Request) -> Response:
        q = request.query()
        status = q.get("status")
        if status not in ("open", "finished"):
            raise error(400, "INVALID_PARAM_VALUE", f"Invalid parameter `status` with value: {status}")
        symbol = self._contract(q["contract"]) if q.get("contract") else None
        orders = [
            o
            for o in self.engine.orders.values()
            if o.conditional and (symbol is None or o.symbol == symbol) and o.is_open == (status == "open")
        ]
        orders.sort(key=lambda o: o.id, reverse=True)
        offset, limit = int(q.get("offset", 0)), int(q.get("limit", 100))
        return Response.of_json(200, [self._price_order(o) for o in orders[offset : offset + limit]])

    def cancel_price_orders(self, request: Request) -> Response:
        symbol = self._contract(request.query().get("contract"))
        return Response.of_json(200, [self._price_order(o) for o in self.engine.cancel_all(symbol, conditional=True)])

    def _price_order(self, order: Order) -> dict[str, Any]:
        s = order.symbol
        if order.is_open:
            status, finish_as, reason = "open", "", ""
        elif order.status is OrderStatus.TRIGGERED:
            status, finish_as, reason = "finished", "succeeded", ""
        elif order.finish_reason == "cancelled":
            status, finish_as, reason = "finished", "cancelled", ""
        else:
            status, finish_as, reason = "finished", "failed", f"order failed: {order.finish_reason}"
        size = order.extra.get("size", self._signed(order.side, self._contracts(s, order.qty)))
        closing = "close-long" if order.side is Side.SELL else "close-short"
        kind = "position" if order.close_position else "order"
        child = order.child_id
        return {
            "initial": {
                "contract": self._id(s),
                "size": self._size(int(size)),  # type: ignore[call-overload]
                "price": self._price(s, order.price),
                "close": order.close_position,
                "tif": order.extra.get("tif", "gtc"),
                "text": order.client_id,
                "reduce_only": order.reduce_only,
                "auto_size": "",
                "is_reduce_only": order.reduce_only,
                "is_close": order.close_position,
            },
            "trigger": {
                "strategy_type": 0,
                "price_type": order.extra.get("price_type", 0),
                "price": self._price(s, order.trigger_price),
                "rule": order.extra.get("rule", 1 if order.trigger_rule == ">=" else 2),
                "expiration": order.extra.get("expiration", 0),
            },
            "id": order.id,
            "user": USER_ID,
            "create_time": order.created_ms // 1000,
            "trade_id": child or 0,
            **({"finish_time": order.finished_ms // 1000} if order.finished_ms else {}),
            "status": status,
            "finish_as": finish_as,
            "reason": reason,
            "order_type": f"{closing}-{kind}" if order.reduce_only else "",
            "me_order_id": str(child) if child else "0",
        }
