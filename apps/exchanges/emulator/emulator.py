"""ExchangeEmulator: one emulated exchange account behind an HTTP server on 127.0.0.1."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from apps.exchanges.emulator.candles import Candle, FeedExhausted, PriceFeed, candles_from_rows, synthetic_candles
from apps.exchanges.emulator.engine import Engine, EngineConfig, Order
from apps.exchanges.emulator.faults import Fault, FaultInjector
from apps.exchanges.emulator.markets import LeverageTier, MarketSpec, load_leverage_tiers
from apps.exchanges.emulator.server import EmulatorHTTPServer
from apps.exchanges.emulator.streams import StreamServer
from apps.exchanges.emulator.wire import HttpError, Request, Response

if TYPE_CHECKING:
    import ccxt

logger = logging.getLogger("tradeops.emulator")

SPOT_FEE = Decimal("0.001")
DEFAULT_START_PRICES = {
    "BTC/USDT:USDT": Decimal("28000"),
    "ETH/USDT:USDT": Decimal("1800"),
    "BTC/USDT": Decimal("28000"),
    "ETH/USDT": Decimal("1800"),
}


class Dialect(Protocol):
    name: str

    def markets(self, tiers: dict[str, tuple[LeverageTier, ...]]) -> dict[str, MarketSpec]: ...
    def handle(self, request: Request) -> Response: ...
    def rate_limited(self, fault: Fault) -> Response: ...
    def server_error(self, fault: Fault, *, accepted: bool) -> Response: ...
    def ccxt_urls(self, base_url: str) -> dict[str, Any]: ...
    def resolve_symbol(self, value: str) -> str: ...


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    query: str
    status: int
    note: str = ""


def dialect_for(exchange: str) -> type[Dialect]:
    from apps.exchanges.emulator.binance import BinanceDialect
    from apps.exchanges.emulator.binance.spot import BinanceSpotDialect
    from apps.exchanges.emulator.gate import GateDialect

    dialects: dict[str, Any] = {
        "binanceusdm": BinanceDialect,
        "binance": BinanceSpotDialect,
        "gate": GateDialect,
        "gateio": GateDialect,
    }
    if exchange not in dialects:
        raise ValueError(f"unknown exchange {exchange!r}; choose binanceusdm, gate or binance (spot)")
    return dialects[exchange]


@dataclass(frozen=True)
class EmulatorAddress:
    """An emulator running in another process (``python -m apps.exchanges.emulator``), known by its URL:
    what :func:`testing.configure_ccxt_client` needs to aim a ccxt client at it. No websocket front (the
    command line starts none)."""

    exchange: str
    url: str
    streams: None = None

    def ccxt_urls(self) -> dict[str, Any]:
        return dialect_for(self.exchange).ccxt_urls(self.url.rstrip("/"))


CandleInput = Sequence[Candle] | Sequence[Sequence[float | int | str]]


class ExchangeEmulator:
    """An emulated Binance USDⓈ-M, Gate USDT futures or Binance spot account, for tests and local demos only.

    ``exchange`` is a ccxt id: "binanceusdm", "gate" (or "gateio") or "binance" (spot; before the spot dialect
    existed "binance" meant USDⓈ-M, and nothing in the project relied on that).

    ``candles`` maps unified symbols ("BTC/USDT:USDT") to candles (or freqtrade rows); markets without
    candles get a deterministic synthetic walk on the same timestamps. The clock starts ``history`` candles
    into the data so that OHLCV endpoints have a past to page through. The futures dialects serve
    ``extra_markets`` beside their own (markets.synthetic_perpetuals makes as many as a benchmark needs).
    """

    def __init__(
        self,
        exchange: str = "binanceusdm",
        *,
        api_key: str = "emulator-key",
        api_secret: str = "emulator-secret",
        host: str = "127.0.0.1",
        port: int = 0,
        candles: Mapping[str, CandleInput] | None = None,
        history: int = 1000,
        balance: Decimal | int | str = Decimal(10_000),
        taker_fee: Decimal | str | None = None,
        maker_fee: Decimal | str | None = None,
        slippage: Decimal | str = Decimal(0),
        limit_fill_volume_fraction: Decimal | str | None = None,
        leverage_tiers_path: Path | None = None,
        extra_markets: Sequence[MarketSpec] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        dialect_class = dialect_for(exchange)
        self.exchange = dialect_class.name  # "gateio" -> "gate"
        self.api_key = api_key
        self.api_secret = api_secret
        self.host = host
        self._port = port
        self.clock = clock
        self.lock = threading.RLock()
        self.faults = FaultInjector()
        self.requests: deque[RequestRecord] = deque(maxlen=2000)
        self.unhandled: list[RequestRecord] = []
        # Tests only: called with each exchange request as it arrives (after any latency fault, before it is
        # processed), on the server's handler thread, e.g. to look at a database at exactly that moment.
        self.request_hooks: list[Callable[[Request], None]] = []
        self.tiers: dict[str, tuple[LeverageTier, ...]] = load_leverage_tiers(leverage_tiers_path)
        self.extra_markets: dict[str, MarketSpec] = {spec.symbol: spec for spec in extra_markets}
        self.dialect: Dialect = dialect_class(self)
        self.markets: dict[str, MarketSpec] = self.dialect.markets(self.tiers)
        spot = self.exchange == "binance"
        self.config = EngineConfig(
            balance=Decimal(str(balance)),
            # Defaults: USDⓈ-M / Gate futures 0.05% / 0.02%; Binance spot 0.1% both ways.
            taker_fee=Decimal(str(taker_fee)) if taker_fee is not None else SPOT_FEE if spot else Decimal("0.0005"),
            maker_fee=Decimal(str(maker_fee)) if maker_fee is not None else SPOT_FEE if spot else Decimal("0.0002"),
            slippage=Decimal(str(slippage)),
            limit_fill_volume_fraction=None
            if limit_fill_volume_fraction is None
            else Decimal(str(limit_fill_volume_fraction)),
            unique_open_client_ids=self.exchange in ("binanceusdm", "binance"),
            child_inherits_client_id=self.exchange == "gate",
        )
        self._series = self._build_series(candles or {}, history)
        self._start_time = self._pick_start(history)
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.streams: StreamServer | None = None
        self.reset()

    # --- setup -----------------------------------------------------------------------------------------
    def _build_series(self, given: Mapping[str, CandleInput], history: int) -> dict[str, list[Candle]]:
        series: dict[str, list[Candle]] = {}
        for symbol, rows in given.items():
            symbol = self.dialect.resolve_symbol(symbol)
            series[symbol] = list(rows) if rows and isinstance(rows[0], Candle) else candles_from_rows(rows)  # type: ignore[arg-type]
        template = next(iter(series.values()), None)
        for index, (symbol, spec) in enumerate(self.markets.items()):
            if symbol in series:
                continue
            count = len(template) if template else history + 5000
            start = template[0].open_time if template else 1_679_004_900_000
            step = template[1].open_time - template[0].open_time if template and len(template) > 1 else 60_000
            series[symbol] = synthetic_candles(
                start_price=DEFAULT_START_PRICES.get(symbol, Decimal(100)),
                count=count,
                start_time=start,
                step_ms=step,
                seed=11 + index,
                tick=spec.tick_size,
            )
        return series

    def _pick_start(self, history: int) -> int:
        primary = next(iter(self._series.values()))
        return primary[min(history, len(primary) - 1)].open_time

    def reset(self) -> None:
        """Fresh account, orders and positions; the feed back at its start; faults cleared."""
        with self.lock:
            feed = PriceFeed({s: list(c) for s, c in self._series.items()}, start_time=self._start_time)
            engine_class = getattr(self.dialect, "engine_class", Engine)  # the spot dialect's: SpotEngine
            self.engine = engine_class(self.markets, feed, self.config, clock=self.clock)
            self.faults.clear()
            self.requests.clear()
            self.unhandled.clear()

    # --- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> ExchangeEmulator:
        if self._server is None:
            self._server = EmulatorHTTPServer((self.host, self._port), self)
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, name="exchange-emulator", daemon=True
            )
            self._thread.start()
            logger.info("%s emulator listening on %s", self.exchange, self.url)
        return self

    def start_streams(self) -> str:
        """Serve websocket market streams too (Binance USDⓈ-M only); returns their ws:// base URL."""
        if self.streams is None:
            self.streams = StreamServer(self, host=self.host).start()
        return self.streams.url

    def stop(self) -> None:
        if self.streams is not None:
            self.streams.stop()
            self.streams = None
        if self._server is not None:
            self._server.shutdown()
            self._server.close_connections()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def wait_idle(self, *, settle: float = 0.02, timeout: float = 5.0) -> bool:
        """Wait until no request has been in processing for `settle` seconds: after a test kills a client
        mid-request, what the exchange did with it is then final. False if still busy after `timeout`."""
        deadline = time.monotonic() + timeout
        quiet_since: float | None = None
        while time.monotonic() < deadline:
            now = time.monotonic()
            if self._server is None or self._server.in_flight == 0:
                quiet_since = quiet_since if quiet_since is not None else now
                if now - quiet_since >= settle:
                    return True
            else:
                quiet_since = None
            time.sleep(0.002)
        return False

    def __enter__(self) -> ExchangeEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # --- the test API ----------------------------------------------------------------------------------
    def advance(self, steps: int = 1) -> list[Order]:
        """Move the clock `steps` candles on; stream subscribers get each step's events."""
        changed: list[Order] = []
        for _ in range(steps):
            with self.lock:
                changed += self.engine.advance(1)
            if self.streams is not None:
                self.streams.publish()
        return changed

    def set_price(self, symbol: str, price: Decimal | str | float) -> list[Order]:
        with self.lock:
            return self.engine.set_price(self.dialect.resolve_symbol(symbol), Decimal(str(price)))

    def price(self, symbol: str) -> Decimal:
        with self.lock:
            return self.engine.mark(self.dialect.resolve_symbol(symbol))

    def orders(self, *, include_triggered_children: bool = False) -> list[Order]:
        """Every order the account holds, open or finished, oldest first: what was submitted, as the exchange
        saw it. The order a triggered conditional order placed is left out unless asked for."""
        with self.lock:
            return [o for o in self.engine.orders.values() if include_triggered_children or o.parent_id is None]

    def ccxt_urls(self) -> dict[str, Any]:
        return self.dialect.ccxt_urls(self.url)

    def ccxt_client(self, **config: Any) -> ccxt.Exchange:
        from apps.exchanges.emulator.testing import make_ccxt_client

        return make_ccxt_client(self, **config)

    def state(self) -> dict[str, Any]:
        with self.lock:
            account = self.engine.account()
            balances = getattr(self.engine, "balances", None)
            return {
                "exchange": self.exchange,
                "clock": self.engine.feed.clock,
                "prices": {s: str(self.engine.mark(s)) for s in self.markets},
                "account": {k: str(v) for k, v in vars(account).items()},
                "positions": [
                    {
                        "symbol": p.symbol,
                        "qty": str(p.qty),
                        "entry_price": str(p.entry_price),
                        "leverage": p.leverage,
                        "margin_mode": p.margin_mode,
                    }
                    for p in self.engine.positions.values()
                    if p.qty
                ],
                "open_orders": [
                    {
                        "id": o.id,
                        "client_id": o.client_id,
                        "symbol": o.symbol,
                        "type": o.type,
                        "conditional": o.conditional,
                    }
                    for o in self.engine.open_orders()
                ],
                "faults": [f.as_dict() for f in self.faults.active()],
                # spot only: asset totals (the "account" entry above is the futures margin view)
                **({"balances": {k: str(v) for k, v in balances.items()}} if balances is not None else {}),
            }

    # --- request handling ------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        with self.lock:
            try:
                response = self.dialect.handle(request)
            except HttpError as exc:
                response = exc.response
            except Exception:  # an emulator bug must show up as such, not as a dropped connection
                logger.exception("EMULATOR BUG while handling %s %s", request.method, request.path)
                response = Response.of_json(500, {"emulator_error": "internal error, see the emulator log"})
        return self.record_response(request, response)

    def record_response(self, request: Request, response: Response) -> Response:
        self.record(request, response.status, note=response.headers.pop("X-Emulator-Note", ""))
        return response

    def record(self, request: Request, status: int, note: str = "") -> None:
        record = RequestRecord(request.method, request.path, request.raw_query, status, note)
        self.requests.append(record)
        if note == "unhandled":
            self.unhandled.append(record)
            logger.warning(
                "EMULATOR GAP: %s %s is not implemented by the %s emulator (answered 404)",
                request.method,
                request.path,
                self.exchange,
            )

    def control(self, request: Request) -> Response:
        """The /_emulator/... endpoints: a small JSON API for tests and demos driving the emulator over HTTP."""
        path = request.path.removeprefix("/_emulator").rstrip("/")
        try:
            body = request.json() if request.body else {}
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
            if path == "/state" and request.method == "GET":
                return Response.of_json(200, self.state())
            if path == "/advance" and request.method == "POST":
                changed = self.advance(int(body.get("steps", 1)))
                return Response.of_json(200, {"clock": self.engine.feed.clock, "changed": [o.id for o in changed]})
            if path == "/price" and request.method == "POST":
                changed = self.set_price(str(body["symbol"]), str(body["price"]))
                return Response.of_json(200, {"price": str(body["price"]), "changed": [o.id for o in changed]})
            if path == "/reset" and request.method == "POST":
                self.reset()
                return Response.of_json(200, {"reset": True})
            if path == "/requests" and request.method == "GET":
                return Response.of_json(
                    200,
                    {
                        "requests": [vars(r) for r in self.requests],
                        "unhandled": [vars(r) for r in self.unhandled],
                    },
                )
            if path == "/faults":
                return self._control_faults(request, body)
            if path.startswith("/faults/") and request.method == "DELETE":
                return Response.of_json(200, {"removed": self.faults.remove(int(path.rsplit("/", 1)[1]))})
        except FeedExhausted as exc:
            return Response.of_json(409, {"error": str(exc)})
        except (KeyError, ValueError, TypeError) as exc:
            return Response.of_json(400, {"error": f"bad control request: {exc!r}"})
        return Response.of_json(404, {"error": f"no control endpoint {request.method} {request.path}"})

    def _control_faults(self, request: Request, body: dict[str, Any]) -> Response:
        if request.method == "GET":
            return Response.of_json(200, {"faults": [f.as_dict() for f in self.faults.active()]})
        if request.method == "DELETE":
            self.faults.clear()
            return Response.of_json(200, {"faults": []})
        if request.method == "POST":
            options = {k: v for k, v in body.items() if k not in ("kind", "id", "hits")}
            fault = self.faults.add(str(body["kind"]), **options)
            return Response.of_json(201, fault.as_dict())
        return Response.of_json(405, {"error": "use GET, POST or DELETE"})
