"""HTTP plumbing shared by the dialects: request/response values, a tiny router, number formatting."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qsl


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    raw_query: str
    body: bytes
    headers: Mapping[str, str]

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def query(self) -> dict[str, str]:
        return dict(parse_qsl(self.raw_query, keep_blank_values=True))

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True)) if self.body else {}

    def json(self) -> object:
        return json.loads(self.body) if self.body else None


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of_json(cls, status: int, payload: object, headers: dict[str, str] | None = None) -> Response:
        return cls(status, json.dumps(payload, default=_json_default).encode(), headers=dict(headers or {}))

    @classmethod
    def of_text(cls, status: int, text: str, headers: dict[str, str] | None = None) -> Response:
        return cls(status, text.encode(), content_type="text/html", headers=dict(headers or {}))


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        # Binance sends some numbers as JSON numbers (leverage brackets); exact ints stay ints.
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class HttpError(Exception):
    """Raised by a dialect handler to answer with the exchange's own error response."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.body.decode(errors="replace"))
        self.response = response


Handler = Callable[..., Response]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    auth: str  # dialect-specific: "public", "signed", ...


class Router:
    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, path: str, handler: Handler, auth: str = "public") -> None:
        # "{name}" segments match one path segment and arrive as keyword arguments.
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path)
        self.routes.append(Route(method, re.compile(f"^{regex}$"), handler, auth))

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            found = route.pattern.match(path)
            if found and route.method == method:
                return route, found.groupdict()
        return None

    def describe(self) -> list[str]:
        return [f"{r.method} {r.pattern.pattern[1:-1]} ({r.auth})" for r in self.routes]


def decimals(step: Decimal) -> int:
    """Places written for a step as the exchange writes it: 0.10 -> 2 (Binance prints "27202.90")."""
    exponent = step.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def fmt(value: Decimal, places: int) -> str:
    return f"{value:.{places}f}"


def parse_decimal(raw: str | None) -> Decimal | None:
    if raw is None or raw == "":
        return None
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise ValueError(raw) from None
    if not value.is_finite():
        raise ValueError(raw)
    return value


def parse_bool(raw: object) -> bool:
    return raw is True or str(raw).lower() == "true"
