"""Fault injection: per-test rules that make the emulator misbehave the way real exchanges and networks do."""

from __future__ import annotations

import itertools
import threading
from dataclasses import asdict, dataclass
from enum import StrEnum


class FaultKind(StrEnum):
    LATENCY = "latency"  # sleep before answering (combines with the other kinds)
    HTTP_ERROR = "http_error"  # answer a 5xx without processing the request
    RATE_LIMIT = "rate_limit"  # 429 with Retry-After; Binance answers 418 once ban_after 429s were sent
    DROP_AFTER_ACCEPT = "drop_after_accept"  # process the request, then close the connection without a response
    ERROR_AFTER_ACCEPT = "error_after_accept"  # process the request, then answer a 5xx (execution status unknown)
    RESET = "reset"  # reset the TCP connection (RST) without processing the request


@dataclass
class Fault:
    kind: FaultKind
    method: str | None = None  # None matches any method
    path: str | None = None  # exact path, or a prefix ending in "*"; None matches any path
    count: int | None = 1  # how many matching requests it affects; None: until cleared
    status: int | None = None  # for HTTP_ERROR / ERROR_AFTER_ACCEPT (default 503)
    latency_ms: int = 0
    retry_after: int = 1  # seconds, sent in Retry-After
    ban_after: int | None = None  # Binance: after this many 429s from this rule, answer 418
    body: str | None = None  # override the response body
    id: int = 0
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        if self.path is None:
            return True
        if self.path.endswith("*"):
            return path.startswith(self.path[:-1])
        return path == self.path

    @property
    def exhausted(self) -> bool:
        return self.count is not None and self.hits >= self.count

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["kind"] = self.kind.value
        return data


class FaultInjector:
    """Thread-safe rule list; the server consults it once per request (control endpoints excluded)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[Fault] = []
        self._ids = itertools.count(1)

    def add(self, kind: FaultKind | str, **options: object) -> Fault:
        fault = Fault(kind=FaultKind(kind), **options)  # type: ignore[arg-type]
        with self._lock:
            fault.id = next(self._ids)
            self._rules.append(fault)
        return fault

    def latency(self, ms: int, **match: object) -> Fault:
        return self.add(FaultKind.LATENCY, latency_ms=ms, **match)

    def http_error(self, status: int = 503, **match: object) -> Fault:
        return self.add(FaultKind.HTTP_ERROR, status=status, **match)

    def rate_limit(self, *, retry_after: int = 1, ban_after: int | None = None, **match: object) -> Fault:
        return self.add(FaultKind.RATE_LIMIT, retry_after=retry_after, ban_after=ban_after, **match)

    def drop_response(self, **match: object) -> Fault:
        return self.add(FaultKind.DROP_AFTER_ACCEPT, **match)

    def error_after_accept(self, status: int = 503, **match: object) -> Fault:
        return self.add(FaultKind.ERROR_AFTER_ACCEPT, status=status, **match)

    def reset(self, **match: object) -> Fault:
        return self.add(FaultKind.RESET, **match)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def remove(self, fault_id: int) -> bool:
        with self._lock:
            before = len(self._rules)
            self._rules = [f for f in self._rules if f.id != fault_id]
            return len(self._rules) != before

    def active(self) -> list[Fault]:
        with self._lock:
            return [f for f in self._rules if not f.exhausted]

    def take(self, method: str, path: str) -> tuple[int, Fault | None]:
        """Consume the rules matching this request: total added latency, and the first other fault."""
        latency = 0
        chosen: Fault | None = None
        with self._lock:
            for fault in self._rules:
                if fault.exhausted or not fault.matches(method, path):
                    continue
                if fault.kind is FaultKind.LATENCY:
                    fault.hits += 1
                    latency += fault.latency_ms
                elif chosen is None:
                    fault.hits += 1
                    chosen = fault
                    latency += fault.latency_ms
            self._rules = [f for f in self._rules if not f.exhausted]
        return latency, chosen
