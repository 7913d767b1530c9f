"""The Gate futures v4 dialect: routes and request authentication (KEY, Timestamp, SIGN)."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING
from urllib.parse import unquote_plus

from apps.exchanges.emulator.engine import EngineError
from apps.exchanges.emulator.gate.account import Account
from apps.exchanges.emulator.gate.base import ERRORS, MAX_TIMESTAMP_GAP_S, PREFIX, error, gate_signature
from apps.exchanges.emulator.gate.market_data import MarketData
from apps.exchanges.emulator.gate.orders import Orders
from apps.exchanges.emulator.wire import Request, Response, Router

if TYPE_CHECKING:
    from apps.exchanges.emulator.emulator import ExchangeEmulator


class GateDialect(MarketData, Account, Orders):
    """Routes /api/v4 requests to the endpoint groups after checking what Gate checks."""

    def __init__(self, emulator: ExchangeEmulator) -> None:
        super().__init__(emulator)
        self.router = Router()
        r = self.router.add
        f = "/futures/{settle}"
        r("GET", "/spot/time", self.time)
        r("GET", f + "/contracts", self.contracts)
        r("GET", f + "/contracts/{contract}", self.contract)
        r("GET", f + "/tickers", self.tickers)
        r("GET", f + "/candlesticks", self.candlesticks)
        r("GET", f + "/order_book", self.order_book)
        # Catalogues ccxt's default load_markets() also reads; this emulator lists USDT perpetuals only.
        for path in (
            "/spot/currency_pairs",
            "/margin/currency_pairs",
            "/spot/currencies",
            "/delivery/{settle}/contracts",
            "/options/underlyings",
        ):
            r("GET", path, self.empty_list)
        r("GET", "/account/detail", self.account_detail, "signed")
        r("GET", f + "/accounts", self.accounts, "signed")
        r("GET", f + "/positions", self.positions, "signed")
        r("GET", f + "/positions/{contract}", self.position, "signed")
        r("POST", f + "/positions/{contract}/leverage", self.set_leverage, "signed")
        r("POST", f + "/orders", self.create_order, "signed")
        r("GET", f + "/orders", self.list_orders, "signed")
        r("DELETE", f + "/orders", self.cancel_orders, "signed")
        r("GET", f + "/orders/{order_id}", self.get_order, "signed")
        r("DELETE", f + "/orders/{order_id}", self.cancel_order, "signed")
        r("POST", f + "/price_orders", self.create_price_order, "signed")
        r("GET", f + "/price_orders", self.list_price_orders, "signed")
        r("DELETE", f + "/price_orders", self.cancel_price_orders, "signed")
        r("GET", f + "/price_orders/{order_id}", self.get_price_order, "signed")
        r("DELETE", f + "/price_orders/{order_id}", self.cancel_price_order, "signed")
        r("GET", f + "/my_trades", self.my_trades, "signed")
        r("GET", f + "/my_trades_timerange", self.my_trades, "signed")

    # --- dispatch and authentication -------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        path = request.path.removeprefix(PREFIX) if request.path.startswith(PREFIX + "/") else None
        found = self.router.match(request.method, path) if path else None
        if found is None:
            body = {"label": "NOT_FOUND", "message": f"Request URL not exists: {request.method} {request.path}"}
            return Response.of_json(404, body, {"X-Emulator-Note": "unhandled"})
        route, path_params = found
        if route.auth == "signed":
            self._authenticate(request)
        settle = path_params.pop("settle", "usdt")
        if settle != "usdt" and route.handler not in (self.contracts, self.empty_list):
            raise error(400, "INVALID_PARAM_VALUE", f"Invalid parameter `settle` with value: {settle}")
        if settle != "usdt":
            return Response.of_json(200, [])
        self._decimal_sizes = request.header("X-Gate-Size-Decimal") == "1"
        try:
            return route.handler(request, **path_params)
        except ValueError as exc:  # int()/Decimal() of a malformed parameter
            raise error(400, "INVALID_PARAM_VALUE", f"Invalid parameter value: {exc}") from exc
        except EngineError as exc:
            status, label, message = ERRORS.get(exc.reason, (400, "INVALID_PARAM_VALUE", exc.reason.value))
            raise error(status, label, message) from exc

    def _authenticate(self, request: Request) -> None:
        key, timestamp, sign = request.header("KEY"), request.header("Timestamp"), request.header("SIGN")
        for name, value in (("KEY", key), ("Timestamp", timestamp), ("SIGN", sign)):
            if not value:
                raise error(401, "MISSING_REQUIRED_HEADER", f"Missing required header: {name}")
        assert key and timestamp and sign
        if not hmac.compare_digest(key.encode(), self.emu.api_key.encode()):
            raise error(401, "INVALID_KEY", "Invalid key provided")
        try:
            gap = abs(self.engine.now_ms() / 1000 - float(timestamp))
        except ValueError:
            raise error(401, "REQUEST_EXPIRED", "Invalid Timestamp header") from None
        if gap > MAX_TIMESTAMP_GAP_S:
            raise error(
                401, "REQUEST_EXPIRED", f"gap between request Timestamp and server time exceeds {MAX_TIMESTAMP_GAP_S}"
            )
        # SIGN = hex HMAC-SHA512 of METHOD \n PATH \n QUERY \n hex SHA512(BODY) \n TIMESTAMP, the query taken
        # "without URL encode" (Gate's docs); the percent-encoded form as sent is accepted too.
        for query in {unquote_plus(request.raw_query), request.raw_query}:
            expected = gate_signature(self.emu.api_secret, request.method, request.path, query, request.body, timestamp)
            if hmac.compare_digest(expected.encode(), sign.lower().encode()):
                return
        raise error(401, "INVALID_SIGNATURE", "Signature mismatch")
