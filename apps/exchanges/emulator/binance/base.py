"""Shared pieces of the Binance dialects (USDⓈ-M and spot): error table, dispatch and authentication (signature,
key, recvWindow), symbol and number helpers."""

from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from apps.exchanges.emulator.engine import Engine, EngineError, Reason
from apps.exchanges.emulator.faults import Fault
from apps.exchanges.emulator.markets import LeverageTier, MarketSpec, binance_markets
from apps.exchanges.emulator.wire import HttpError, Request, Response, Router, decimals, fmt, parse_decimal

if TYPE_CHECKING:
    from apps.exchanges.emulator.emulator import ExchangeEmulator


MONEY = 8
CLIENT_ID_RANGE = "'^[\\.A-Z\\:/a-z0-9_-]{1,36}$'"
DEFAULT_RECV_WINDOW = 5000
MAX_RECV_WINDOW = 60000

# reason -> (http status, Binance code, message); the messages are Binance's own.
ERRORS: dict[Reason, tuple[int, int, str]] = {
    Reason.UNKNOWN_SYMBOL: (400, -1121, "Invalid symbol."),
    Reason.BAD_QUANTITY: (400, -4003, "Quantity less than or equal to zero."),
    Reason.QTY_STEP: (400, -1111, "Precision is over the maximum defined for this asset."),
    Reason.QTY_BELOW_MIN: (400, -4003, "Quantity less than or equal to zero."),
    Reason.QTY_ABOVE_MAX: (400, -4005, "Quantity greater than max quantity."),
    Reason.PRICE_TICK: (400, -4014, "Price not increased by tick size."),
    Reason.PRICE_INVALID: (400, -4001, "Price less than 0."),
    Reason.MIN_NOTIONAL: (
        400,
        -4164,
        "Order's notional must be no smaller than {detail} (unless you choose reduce only).",
    ),
    Reason.INSUFFICIENT_MARGIN: (400, -2019, "Margin is insufficient."),
    Reason.REDUCE_ONLY_REJECTED: (400, -2022, "ReduceOnly Order is rejected."),
    Reason.REDUCE_ONLY_EMPTY: (400, -2022, "ReduceOnly Order is rejected."),
    Reason.UNKNOWN_ORDER: (400, -2013, "Order does not exist."),
    Reason.ORDER_FINAL: (400, -2011, "Unknown order sent."),
    Reason.WOULD_TRIGGER_IMMEDIATELY: (400, -2021, "Order would immediately trigger."),
    Reason.LEVERAGE_INVALID: (400, -4028, "Leverage {detail} is not valid"),
    Reason.POSITION_LIMIT: (400, -2027, "Exceeded the maximum allowable position at current leverage."),
    Reason.DUPLICATE_CLIENT_ID: (400, -4116, "ClientOrderId is duplicated."),
    Reason.MARGIN_MODE_UNCHANGED: (400, -4046, "No need to change margin type."),
    Reason.MARGIN_MODE_POSITION_OPEN: (400, -4048, "Margin type cannot be changed if there exists position."),
    Reason.MARGIN_MODE_ORDERS_OPEN: (400, -4047, "Margin type cannot be changed if there exists open orders."),
    Reason.POST_ONLY_WOULD_TAKE: (
        400,
        -5022,
        "Due to the order could not be executed as maker, the Post Only order will be rejected.",
    ),
    Reason.FOK_NOT_FILLED: (
        400,
        -5021,
        "Due to the order could not be filled immediately, the FOK order has been rejected.",
    ),
}


def error(status: int, code: int, msg: str) -> HttpError:
    return HttpError(Response.of_json(status, {"code": code, "msg": msg}))


def missing(name: str) -> HttpError:
    return error(400, -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def binance_signature(secret: str, total_params: str) -> str:
    """HMAC-SHA256 hex of totalParams (query string + body, as sent, without the signature parameter)."""
    return hmac.new(secret.encode(), total_params.encode(), hashlib.sha256).hexdigest()


def strip_signature(raw: str) -> str:
    return "&".join(part for part in raw.split("&") if part and not part.startswith("signature="))


class BinanceBase:
    """State and helpers shared by the endpoint groups."""

    name = "binanceusdm"
    errors: dict[Reason, tuple[int, int, str]] = ERRORS  # the spot dialect overrides some codes
    router: Router  # built by the concrete dialect

    def __init__(self, emulator: ExchangeEmulator) -> None:
        self.emu = emulator
        self._ids: dict[str, str] = {}  # exchange id -> unified symbol, filled by markets()

    # --- dialect protocol ------------------------------------------------------------------------------
    def markets(self, tiers: dict[str, tuple[LeverageTier, ...]]) -> dict[str, MarketSpec]:
        specs = binance_markets(tiers) | self.emu.extra_markets
        self._ids = {self.market_id(spec): symbol for symbol, spec in specs.items()}
        return specs

    @staticmethod
    def market_id(spec: MarketSpec) -> str:
        return spec.base + spec.quote

    def resolve_symbol(self, value: str) -> str:
        return self._ids.get(value, value)

    @staticmethod
    def ccxt_urls(base_url: str) -> dict[str, Any]:
        return {
            "fapiPublic": f"{base_url}/fapi/v1",
            "fapiPublicV2": f"{base_url}/fapi/v2",
            "fapiPublicV3": f"{base_url}/fapi/v3",
            "fapiPrivate": f"{base_url}/fapi/v1",
            "fapiPrivateV2": f"{base_url}/fapi/v2",
            "fapiPrivateV3": f"{base_url}/fapi/v3",
            "fapiData": f"{base_url}/futures/data",
            "sapi": f"{base_url}/sapi/v1",
        }

    def rate_limited(self, fault: Fault) -> Response:
        headers = {"Retry-After": str(fault.retry_after)}
        if fault.ban_after is not None and fault.hits > fault.ban_after:
            until = self.engine.now_ms() + fault.retry_after * 1000
            body = {
                "code": -1003,
                "msg": f"Way too many requests; IP(127.0.0.1) banned until {until}. "
                "Please use the websocket for live updates to avoid bans.",
            }
            return Response.of_json(418, body, headers)
        body = {
            "code": -1003,
            "msg": "Too many requests; current limit of IP(127.0.0.1) is 2400 requests per minute. "
            "Please use the websocket for live updates to avoid bans.",
        }
        return Response.of_json(429, body, headers)

    def server_error(self, fault: Fault, *, accepted: bool) -> Response:
        status = fault.status or 503
        if fault.body is not None:
            return Response.of_text(status, fault.body)
        if accepted:
            # Binance's "execution status unknown" answer: the request reached the matching engine.
            msg = "Timeout waiting for response from backend server. Send status unknown; execution status unknown."
            body = {"code": -1007, "msg": msg}
            return Response.of_json(status, body)
        return Response.of_text(status, f"<html><body><h1>{status} Service Unavailable</h1></body></html>")

    @property
    def engine(self) -> Engine:  # replaced on reset, so always read through the emulator
        return self.emu.engine

    # --- helpers ---------------------------------------------------------------------------------------
    def _symbol(self, params: dict[str, str], *, required: bool = True) -> str | None:
        raw = params.get("symbol")
        if not raw:
            if required:
                raise missing("symbol")
            return None
        if raw not in self._ids:
            raise error(400, -1121, "Invalid symbol.")
        return self._ids[raw]

    def _spec(self, symbol: str) -> MarketSpec:
        return self.engine.spec(symbol)

    def _id(self, symbol: str) -> str:
        return self.market_id(self._spec(symbol))

    def _price(self, symbol: str, value: Decimal | None) -> str:
        # Binance writes an unset price as "0" and a set one with the tick's decimals ("27202.90" for 0.10).
        return fmt(value, decimals(self._spec(symbol).tick_size)) if value else "0"

    def _qty(self, symbol: str, value: Decimal) -> str:
        return fmt(value, decimals(self._spec(symbol).step_size))

    def _decimal(self, params: dict[str, str], name: str) -> Decimal | None:
        try:
            return parse_decimal(params.get(name))
        except ValueError:
            raise error(400, -1100, f"Illegal characters found in parameter '{name}'.") from None

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
            status, code, msg = self.errors[exc.reason]
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
