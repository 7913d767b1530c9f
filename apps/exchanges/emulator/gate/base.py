"""Shared pieces of the Gate futures dialect: error table, signature, contract and size helpers."""

from __future__ import annotations

import hashlib
import hmac
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING, Any

from apps.exchanges.emulator.engine import Engine, Reason, Side
from apps.exchanges.emulator.faults import Fault
from apps.exchanges.emulator.markets import LeverageTier, MarketSpec, gate_markets
from apps.exchanges.emulator.wire import HttpError, Request, Response, decimals, fmt, parse_decimal

if TYPE_CHECKING:
    from apps.exchanges.emulator.emulator import ExchangeEmulator


PREFIX = "/api/v4"
USER_ID = 10000001
MAX_TIMESTAMP_GAP_S = 60
TEXT_LOOKUP_WINDOW_S = 60  # Gate: a finished order is found by its text only for 60 s, then only by id
MAX_POINTS = 2000
MAX_POINTS_AGO = 10000
RESERVED_TEXTS = {"web", "api", "app"}  # how the order was created, when no custom text is given
TEXT_ALLOWED = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-.")

ERRORS: dict[Reason, tuple[int, str, str]] = {
    Reason.UNKNOWN_SYMBOL: (400, "CONTRACT_NOT_FOUND", "Contract not found"),
    Reason.BAD_QUANTITY: (400, "INVALID_PARAM_VALUE", "Invalid parameter `size`"),
    Reason.QTY_STEP: (400, "INVALID_PARAM_VALUE", "Invalid parameter `size`"),
    Reason.QTY_BELOW_MIN: (400, "SIZE_TOO_SMALL", "Order size does not reach minimum"),
    Reason.QTY_ABOVE_MAX: (400, "SIZE_TOO_LARGE", "Order size exceeds maximum"),
    Reason.PRICE_TICK: (400, "INVALID_PARAM_VALUE", "price must be a multiple of order_price_round"),
    Reason.PRICE_INVALID: (400, "INVALID_PARAM_VALUE", "Invalid parameter `price`"),
    Reason.MIN_NOTIONAL: (400, "SIZE_TOO_SMALL", "Order size does not reach minimum"),
    Reason.INSUFFICIENT_MARGIN: (400, "INSUFFICIENT_AVAILABLE", "Insufficient available balance"),
    Reason.REDUCE_ONLY_REJECTED: (400, "INCREASE_POSITION", "reduce-only order would increase position"),
    Reason.REDUCE_ONLY_EMPTY: (400, "REDUCE_EXCEEDED", "empty position"),
    Reason.UNKNOWN_ORDER: (404, "ORDER_NOT_FOUND", "Order not found"),
    Reason.ORDER_FINAL: (400, "ORDER_FINISHED", "Order already finished"),
    Reason.LEVERAGE_INVALID: (400, "LEVERAGE_TOO_HIGH", "leverage too high"),
    Reason.POSITION_LIMIT: (400, "RISK_LIMIT_EXCEEDED", "Risk limit exceeded"),
    Reason.DUPLICATE_CLIENT_ID: (400, "INVALID_PARAM_VALUE", "Invalid parameter `text`"),
    Reason.MARGIN_MODE_UNCHANGED: (400, "NO_CHANGE", "No change is made"),
    Reason.MARGIN_MODE_POSITION_OPEN: (400, "POSITION_HOLDING", "Operation forbidden with holding position"),
    Reason.MARGIN_MODE_ORDERS_OPEN: (400, "ORDER_PENDING", "Operation forbidden with pending orders"),
    Reason.POST_ONLY_WOULD_TAKE: (400, "ORDER_POC_IMMEDIATE", "POC order will be finished immediately"),
    Reason.FOK_NOT_FILLED: (400, "ORDER_FOK", "Killed for FOK"),
}


def error(status: int, label: str, message: str) -> HttpError:
    return HttpError(Response.of_json(status, {"label": label, "message": message}))


def gate_signature(secret: str, method: str, path: str, query: str, body: bytes, timestamp: str) -> str:
    """Gate APIv4 SIGN: hex HMAC-SHA512 of "METHOD\\nPATH\\nQUERY\\nhex(SHA512(BODY))\\nTIMESTAMP"."""
    payload = "\n".join([method.upper(), path, query, hashlib.sha512(body).hexdigest(), timestamp])
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha512).hexdigest()


def seconds(ms: int) -> float:
    return round(ms / 1000, 3)


class GateBase:
    """State and helpers shared by the endpoint groups."""

    name = "gate"

    def __init__(self, emulator: ExchangeEmulator) -> None:
        self.emu = emulator
        self._ids: dict[str, str] = {}  # exchange id -> unified symbol, filled by markets()
        self.text_lookup_window_s = TEXT_LOOKUP_WINDOW_S
        self._decimal_sizes = False  # per request: ccxt sends X-Gate-Size-Decimal: 1

    # --- dialect protocol ------------------------------------------------------------------------------
    def markets(self, tiers: dict[str, tuple[LeverageTier, ...]]) -> dict[str, MarketSpec]:
        specs = gate_markets(tiers) | self.emu.extra_markets
        self._ids = {self.market_id(spec): symbol for symbol, spec in specs.items()}
        return specs

    @staticmethod
    def market_id(spec: MarketSpec) -> str:
        return f"{spec.base}_{spec.quote}"

    def resolve_symbol(self, value: str) -> str:
        return self._ids.get(value, value)

    @staticmethod
    def ccxt_urls(base_url: str) -> dict[str, Any]:
        api = f"{base_url}{PREFIX}"
        public = ("wallet", "futures", "margin", "delivery", "spot", "options", "sub_accounts", "earn")
        private = public + ("withdrawals", "subAccounts", "unified", "rebate", "account", "loan", "otc")
        return {"public": dict.fromkeys(public, api), "private": dict.fromkeys(private, api)}

    def rate_limited(self, fault: Fault) -> Response:
        reset = self.engine.now_ms() // 1000 + fault.retry_after
        headers = {
            "Retry-After": str(fault.retry_after),
            "X-Gate-RateLimit-Requests-Remain": "0",
            "X-Gate-RateLimit-Limit": "100",
            "X-Gate-RateLimit-Reset-Timestamp": str(reset),
        }
        return Response.of_json(
            429, {"label": "TOO_MANY_REQUESTS", "message": "Request Rate limit Exceeded (007)"}, headers
        )

    def server_error(self, fault: Fault, *, accepted: bool) -> Response:
        status = fault.status or 503
        if fault.body is not None:
            return Response.of_text(status, fault.body)
        if accepted:
            return Response.of_json(status, {"label": "SERVER_ERROR", "message": "Internal server error"})
        return Response.of_text(status, f"<html><body><h1>{status} Service Temporarily Unavailable</h1></body></html>")

    @property
    def engine(self) -> Engine:  # replaced on reset, so always read through the emulator
        return self.emu.engine

    # --- helpers ---------------------------------------------------------------------------------------
    def _contract(self, raw: str | None) -> str:
        if not raw:
            raise error(400, "MISSING_REQUIRED_PARAM", "Missing required parameter: contract")
        if raw not in self._ids:
            raise error(400, "CONTRACT_NOT_FOUND", "Contract not found")
        return self._ids[raw]

    def _spec(self, symbol: str) -> MarketSpec:
        return self.engine.spec(symbol)

    def _id(self, symbol: str) -> str:
        return self.market_id(self._spec(symbol))

    def _price(self, symbol: str, value: Decimal | None) -> str:
        if not value:
            return "0"
        return fmt(value, decimals(self._spec(symbol).tick_size))

    def _contracts(self, symbol: str, qty: Decimal) -> int:
        return int((qty / self._spec(symbol).contract_size).to_integral_value(ROUND_DOWN))

    def _size(self, value: int) -> int | str:
        # With X-Gate-Size-Decimal: 1 Gate answers sizes as decimal strings, otherwise as integers.
        return str(value) if self._decimal_sizes else value

    def _signed(self, side: Side, contracts: int) -> int:
        return contracts if side is Side.BUY else -contracts

    def _parse_size(self, raw: object) -> int:
        try:
            value = parse_decimal(str(raw)) if raw is not None else None
        except ValueError:
            value = None
        if value is None or value != value.to_integral_value():
            raise error(400, "INVALID_PARAM_VALUE", f"Invalid parameter `size` with value: {raw}")
        return int(value)

    def _parse_price(self, raw: object) -> Decimal:
        try:
            value = parse_decimal(str(raw)) if raw is not None else Decimal(0)
        except ValueError:
            value = None
        if value is None or value < 0:
            raise error(400, "INVALID_PARAM_VALUE", f"Invalid parameter `price` with value: {raw}")
        return value

    def _text(self, raw: object) -> str:
        if raw is None or raw == "":
            return "api"
        text = str(raw)
        if text in RESERVED_TEXTS:
            return text
        if not text.startswith("t-") or len(text) > 30 or not set(text[2:]) <= TEXT_ALLOWED:
            raise error(400, "INVALID_PARAM_VALUE", f"Invalid parameter `text` with value: {text}")
        return text

    def _body(self, request: Request) -> dict[str, Any]:
        try:
            body = request.json()
        except ValueError:
            raise error(400, "INVALID_REQUEST_BODY", "Invalid request body") from None
        if not isinstance(body, dict):
            raise error(400, "INVALID_REQUEST_BODY", "Invalid request body")
        return body
