"""The Binance USDⓈ-M dialect: routes and request authentication (signature, key, recvWindow)."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from apps.exchanges.emulator.binance.account import Account
from apps.exchanges.emulator.binance.base import (
    DEFAULT_RECV_WINDOW,
    ERRORS,
    MAX_RECV_WINDOW,
    binance_signature,
    error,
    missing,
    strip_signature,
)
from apps.exchanges.emulator.binance.market_data import MarketData
from apps.exchanges.emulator.binance.orders import Orders
from apps.exchanges.emulator.engine import EngineError
from apps.exchanges.emulator.wire import Request, Response, Router

if TYPE_CHECKING:
    from apps.exchanges.emulator.emulator import ExchangeEmulator


class BinanceDialect(MarketData, Account, Orders):
    """Routes fapi requests to the endpoint groups after checking what Binance checks."""

    def __init__(self, emulator: ExchangeEmulator) -> None:
        super().__init__(emulator)
        self.router = Router()
        r = self.router.add
        r("GET", "/fapi/v1/ping", self.ping)
        r("GET", "/fapi/v1/time", self.time)
        r("GET", "/fapi/v1/exchangeInfo", self.exchange_info)
        r("GET", "/fapi/v1/klines", self.klines)
        r("GET", "/fapi/v1/markPriceKlines", self.klines)
        r("GET", "/fapi/v1/indexPriceKlines", self.klines)
        r("GET", "/fapi/v1/ticker/24hr", self.ticker_24hr)
        r("GET", "/fapi/v1/ticker/price", self.ticker_price)
        r("GET", "/fapi/v2/ticker/price", self.ticker_price)
        r("GET", "/fapi/v1/ticker/bookTicker", self.book_ticker)
        r("GET", "/fapi/v1/premiumIndex", self.premium_index)
        r("GET", "/fapi/v1/depth", self.depth)
        r("GET", "/fapi/v2/account", self.account_v2, "signed")
        r("GET", "/fapi/v3/account", self.account_v3, "signed")
        r("GET", "/fapi/v2/balance", self.balance, "signed")
        r("GET", "/fapi/v3/balance", self.balance, "signed")
        r("GET", "/fapi/v2/positionRisk", self.position_risk_v2, "signed")
        r("GET", "/fapi/v3/positionRisk", self.position_risk_v3, "signed")
        r("GET", "/fapi/v1/leverageBracket", self.leverage_bracket, "signed")
        r("GET", "/fapi/v1/commissionRate", self.commission_rate, "signed")
        r("GET", "/fapi/v1/positionSide/dual", self.get_position_mode, "signed")
        r("POST", "/fapi/v1/positionSide/dual", self.set_position_mode, "signed")
        r("POST", "/fapi/v1/leverage", self.set_leverage, "signed")
        r("POST", "/fapi/v1/marginType", self.set_margin_type, "signed")
        r("POST", "/fapi/v1/order", self.new_order, "signed")
        r("GET", "/fapi/v1/order", self.query_order, "signed")
        r("DELETE", "/fapi/v1/order", self.cancel_order, "signed")
        r("GET", "/fapi/v1/openOrder", self.query_open_order, "signed")
        r("GET", "/fapi/v1/openOrders", self.open_orders, "signed")
        r("GET", "/fapi/v1/allOrders", self.all_orders, "signed")
        r("DELETE", "/fapi/v1/allOpenOrders", self.cancel_all, "signed")
        r("POST", "/fapi/v1/algoOrder", self.new_algo_order, "signed")
        r("GET", "/fapi/v1/algoOrder", self.query_algo_order, "signed")
        r("DELETE", "/fapi/v1/algoOrder", self.cancel_algo_order, "signed")
        r("GET", "/fapi/v1/openAlgoOrders", self.open_algo_orders, "signed")
        r("GET", "/fapi/v1/allAlgoOrders", self.all_algo_orders, "signed")
        r("DELETE", "/fapi/v1/algoOpenOrders", self.cancel_all_algo, "signed")
        r("GET", "/fapi/v1/userTrades", self.user_trades, "signed")
        # ccxt's load_markets() calls this when options['fetchCurrencies'] is on; an empty list is valid.
        r("GET", "/sapi/v1/capital/config/getall", self.capital_config, "signed")

    # --- dispatch and authentication -------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        found = self.router.match(request.method, request.path)
        if found is None:
            body = {"code": -5000, "msg": f"Path {request.path}, Method {request.method} is invalid"}
            return Response.of_json(404, body, {"X-Emulator-Note": "unhandled"})
        route, _ = found
        params = {**request.query(), **request.form()}
        if route.auth == "signed":
            self._authenticate(request, params)
        try:
            response = route.handler(params)
        except ValueError as exc:  # int()/Decimal() of a malformed parameter
            raise error(400, -1100, f"Illegal characters found in a parameter: {exc}.") from exc
        except EngineError as exc:
            status, code, msg = ERRORS[exc.reason]
            raise error(status, code, msg.format(detail=exc.detail.split(" ")[0] if exc.detail else "")) from exc
        response.headers.setdefault("X-MBX-USED-WEIGHT-1M", "1")
        return response

    def _authenticate(self, request: Request, params: dict[str, str]) -> None:
        key = request.header("X-MBX-APIKEY")
        if not key:
            raise error(401, -2014, "API-key format invalid.")
        if not hmac.compare_digest(key.encode(), self.emu.api_key.encode()):
            raise error(401, -2015, "Invalid API-key, IP, or permissions for action, request ip: 127.0.0.1")
        signature = params.get("signature")
        if not signature:
            raise missing("signature")
        if "timestamp" not in params:
            raise missing("timestamp")
        # Binance signs totalParams = query string + request body, exactly as sent, minus the signature itself.
        payload = strip_signature(request.raw_query) + strip_signature(request.body.decode())
        if not hmac.compare_digest(
            binance_signature(self.emu.api_secret, payload).encode(), signature.lower().encode()
        ):
            raise error(400, -1022, "Signature for this request is not valid.")
        try:
            timestamp = int(params["timestamp"])
            recv_window = int(params.get("recvWindow", DEFAULT_RECV_WINDOW))
        except ValueError:
            raise error(400, -1100, "Illegal characters found in parameter 'timestamp'.") from None
        if recv_window > MAX_RECV_WINDOW:
            raise error(400, -1131, "recvWindow must be less than 60000")
        now = self.engine.now_ms()
        if timestamp >= now + 1000:
            raise error(400, -1021, "Timestamp for this request was 1000ms ahead of the server's time.")
        if now - timestamp > recv_window:
            raise error(400, -1021, "Timestamp for this request is outside of the recvWindow.")
