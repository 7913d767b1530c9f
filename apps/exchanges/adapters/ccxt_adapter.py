"""CcxtAdapter: the ExchangeAdapter over the ccxt client (pure; no Django).

Supported: ``binanceusdm`` and ``gate`` (USDT-margined perpetuals) and ``binance`` (spot).

Units: every amount crossing this boundary is in base units (BTC), whatever the exchange counts in;
Gate counts whole contracts, so amounts are divided by the contract size on the way out and multiplied
on the way back. MarketRules.step/min_amount are base units too.

Protective orders:
- futures: a separate reduce-only conditional market order (Binance STOP_MARKET / TAKE_PROFIT_MARKET on the
  algo endpoint, Gate price-triggered order with reduce_only and a ``t-`` text), via ccxt's
  ``stopLossPrice`` / ``takeProfitPrice`` params;
- spot (``binance``): a stop-loss is a STOP_LOSS_LIMIT order at ``limit_price`` (required); a take-profit is a
  TAKE_PROFIT_LIMIT order at ``limit_price`` (defaults to the trigger price). Spot has no reduce-only.

Failures: ccxt exceptions become errors.py classes with scrubbed messages. Read-only and idempotent calls are
retried with bounded exponential backoff. An order submission is never retried: when it fails with a network
error, timeout or 5xx the adapter looks the order up by its client order id; found -> returned, not found ->
OrderStateUnknown. The adapter never resubmits on its own: Binance client ids are unique only among open
orders and Gate's text lookup only works for 60 s after an order finished, so "not found" does not prove the
exchange never saw the order; the caller (the trade state machine) decides, after its own later lookups.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any, TypeVar

import ccxt

from apps.exchanges.adapters import errors
from apps.exchanges.adapters.base import (
    Balance,
    CandleFetch,
    ExchangeAdapter,
    MarginMode,
    MarketRules,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    PositionSide,
    ProtectionKind,
    ProtectiveOrderRequest,
    Side,
    Ticker,
)
from apps.exchanges.adapters.market_cache import MarketCache
from apps.exchanges.adapters.retry import RetryPolicy, call_with_retry
from apps.exchanges.adapters.rounding import check_order, prepare_order, round_price
from apps.market.arrays import CandleArrays
from apps.market.timeframes import timeframe_ms

T = TypeVar("T")

EXCHANGES = ("binanceusdm", "gate", "binance")
FUTURES = ("binanceusdm", "gate")
ZERO = Decimal(0)
MAX_MESSAGE = 400
GATE_TEXT_PREFIX = "t-"
GATE_DEFAULT_LEVERAGE = 10
GATE_RULE_RISES = 1  # price_orders trigger.rule: 1 is ">=", 2 is "<="
PAGE_LIMITS = {"binanceusdm": 1000, "gate": 1000, "binance": 1000}
STATUSES = {
    "open": OrderStatus.OPEN,
    "closed": OrderStatus.CLOSED,
    "canceled": OrderStatus.CANCELED,
    "cancelled": OrderStatus.CANCELED,
    "expired": OrderStatus.EXPIRED,
    "rejected": OrderStatus.REJECTED,
}
# Exchange answers that ccxt leaves as a plain ExchangeError but that are order-rule refusals.
INVALID_ORDER_MARKERS = ("REDUCE_EXCEEDED", "RISK_LIMIT_EXCEEDED", "POSITION_EMPTY", "LEVERAGE_TOO_HIGH")
NOT_FOUND_MARKERS = ("ORDER_FINISHED", "ORDER_NOT_FOUND")
SPOT_PROTECTIVE_TYPES = {"stop_loss_limit", "take_profit_limit", "stop_loss", "take_profit"}


def _dec(value: Any, default: Decimal | None = None) -> Decimal | None:
    if value is None or value == "":
        return default
    return Decimal(str(value))


def _d(value: Any) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else ZERO


class CcxtAdapter(ExchangeAdapter):
    """An exchange account reached through ccxt. Constructed from plain values; see ``factory`` for accounts.

    ``api_urls`` replaces ccxt's ``urls['api']`` entries (for a local emulator); ``configure`` runs on the
    client after construction (tests use it to point ccxt at the emulator). ``sandbox`` switches ccxt to the
    exchange's testnet. ``market_cache`` shares loaded markets between adapters of the same exchange and mode
    (see market_cache); without it each adapter loads its own."""

    def __init__(
        self,
        exchange_id: str,
        *,
        api_key: str | None = None,
        secret: str | None = None,
        passphrase: str | None = None,
        sandbox: bool = False,
        api_urls: Mapping[str, Any] | None = None,
        configure: Callable[[ccxt.Exchange], Any] | None = None,
        enable_rate_limit: bool = True,
        timeout_ms: int = 10_000,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        market_cache: MarketCache | None = None,
    ) -> None:
        if exchange_id not in EXCHANGES:
            raise ValueError(f"unsupported exchange {exchange_id!r}; supported: {', '.join(EXCHANGES)}")
        self.exchange_id = exchange_id
        self.is_spot = exchange_id == "binance"
        self.is_gate = exchange_id == "gate"
        self.balance_includes_unrealized = exchange_id == "binanceusdm"
        config: dict[str, Any] = {"enableRateLimit": enable_rate_limit, "timeout": timeout_ms}
        if api_key:
            config["apiKey"] = api_key
        if secret:
            config["secret"] = secret
        if passphrase:
            config["password"] = passphrase
        client: ccxt.Exchange = getattr(ccxt, exchange_id)(config)
        if self.is_gate:
            client.options["defaultType"] = "swap"
        elif self.is_spot:
            client.options["defaultType"] = "spot"
        # Listing open orders across all symbols is a deliberate, rare call here.
        client.options["warnOnFetchOpenOrdersWithoutSymbol"] = False
        if sandbox:
            client.set_sandbox_mode(True)
        if api_urls:
            client.urls["api"] = {**client.urls["api"], **api_urls}
        if configure is not None:
            configure(client)
        self.client = client
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._secrets = tuple(v for v in (api_key, secret, passphrase) if v)
        self._rules: dict[str, MarketRules] = {}
        self._sandbox = sandbox
        self._market_cache = market_cache
        self._markets_loaded_at: float | None = None  # of the cache entry these rules came from

    def __repr__(self) -> str:  # never the keys
        return f"<CcxtAdapter {self.exchange_id}>"

    # --- errors and retries ----------------------------------------------------------------------------
    def _scrub(self, text: str) -> str:
        for value in self._secrets:
            text = text.replace(value, "***")
        text = re.sub(r"(signature|sign|apiKey|KEY|SIGN)=[^&\s\"']+", r"\1=***", text)
        return text[:MAX_MESSAGE]

    def translate(self, exc: Exception) -> errors.AdapterError:
        """The errors.py class for a ccxt exception, with a message free of keys and signatures."""
        message = self._scrub(f"{self.exchange_id}: {type(exc).__name__}: {exc}")
        text = str(exc)
        if isinstance(exc, ccxt.AuthenticationError):
            return errors.AuthenticationFailed(message)
        if isinstance(exc, ccxt.InsufficientFunds):
            return errors.InsufficientFunds(message)
        if isinstance(exc, ccxt.OrderNotFound):
            return errors.OrderNotFound(message)
        if isinstance(exc, (ccxt.RateLimitExceeded, ccxt.DDoSProtection)):
            return errors.RateLimited(message)
        if isinstance(exc, ccxt.NetworkError):  # RequestTimeout, ExchangeNotAvailable, connection failures
            return errors.ExchangeUnavailable(message)
        if isinstance(exc, (ccxt.InvalidOrder, ccxt.BadRequest, ccxt.BadSymbol, ccxt.OperationRejected)):
            return errors.InvalidOrder(message)
        if any(marker in text for marker in NOT_FOUND_MARKERS):
            return errors.OrderNotFound(message)
        if any(marker in text for marker in INVALID_ORDER_MARKERS):
            return errors.InvalidOrder(message)
        return errors.AdapterError(message)

    def _call(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except ccxt.BaseError as exc:
            raise self.translate(exc) from None

    def _safe(self, fn: Callable[[], T]) -> T:
        """A read-only or idempotent call: retried on RateLimited / ExchangeUnavailable, a bounded number of times."""
        return call_with_retry(lambda: self._call(fn), self.retry, sleep=self._sleep)

    # --- markets ---------------------------------------------------------------------------------------
    def load_markets(self) -> list[MarketRules]:
        """Ask the exchange for its markets (always a request), and share them through the market cache."""
        markets = self._safe(lambda: self.client.load_markets(True))
        if self._market_cache is not None:
            entry = self._market_cache.put(
                self.exchange_id, sandbox=self._sandbox, markets=markets, currencies=self.client.currencies
            )
            self._markets_loaded_at = entry.loaded_at
        return self._adopt(markets)

    def _adopt(self, markets: Mapping[str, Any]) -> list[MarketRules]:
        rules = [self._market_rules(m) for m in markets.values() if self._wanted(m)]
        self._rules = {r.symbol: r for r in rules}
        return rules

    def _ensure_markets(self) -> None:
        """Markets before a call that needs them: the cache's when it has fresher ones than this adapter's,
        this adapter's own while they last, else loaded from the exchange."""
        if self._market_cache is None:
            if not self._rules:
                self.load_markets()
            return
        entry = self._market_cache.get(self.exchange_id, sandbox=self._sandbox)
        if entry is None:
            self.load_markets()
        elif entry.loaded_at != self._markets_loaded_at:
            # set_markets marks the client's markets loaded, so ccxt's own calls do not load them again.
            self.client.set_markets(entry.markets, entry.currencies)
            self._markets_loaded_at = entry.loaded_at
            self._adopt(self.client.markets)

    def _wanted(self, market: Mapping[str, Any]) -> bool:
        if market.get("active") is False:
            return False
        if self.is_spot:
            return bool(market.get("spot"))
        return bool(market.get("swap") and market.get("linear") and market.get("settle") == "USDT")

    def _precision(self, value: Any) -> Decimal:
        if value is None:
            return ZERO
        if self.client.precisionMode == ccxt.DECIMAL_PLACES:
            return Decimal(1).scaleb(-int(value))
        return Decimal(str(value))

    def _market_rules(self, market: Mapping[str, Any]) -> MarketRules:
        contract_size = _dec(market.get("contractSize"), Decimal(1)) if market.get("contract") else Decimal(1)
        assert contract_size is not None
        limits = market.get("limits") or {}
        step = self._precision(market["precision"].get("amount")) * contract_size
        min_amount = _dec((limits.get("amount") or {}).get("min"), ZERO) * contract_size  # type: ignore[operator]
        max_leverage = (limits.get("leverage") or {}).get("max")
        return MarketRules(
            symbol=market["symbol"],
            base=market["base"],
            quote=market["quote"],
            type="spot" if market.get("spot") else "swap",
            tick=self._precision(market["precision"].get("price")),
            step=step,
            min_amount=max(min_amount, step),
            min_notional=_dec((limits.get("cost") or {}).get("min"), ZERO),  # type: ignore[arg-type]
            max_leverage=int(max_leverage) if max_leverage else None,
            contract_size=contract_size,
        )

    def rules(self, symbol: str) -> MarketRules:
        self._ensure_markets()
        try:
            return self._rules[symbol]
        except KeyError:
            raise errors.InvalidOrder(f"{self.exchange_id} has no market {symbol}") from None

    # --- read-only calls -------------------------------------------------------------------------------
    def fetch_balance(self) -> list[Balance]:
        self._ensure_markets()  # ccxt loads markets before a balance; handing it ours spares that request
        raw = self._safe(lambda: self.client.fetch_balance())
        balances = []
        for currency, total in (raw.get("total") or {}).items():
            if total is None:
                continue
            balances.append(
                Balance(
                    currency=currency,
                    total=_d(total),
                    free=_d(raw.get("free", {}).get(currency)),
                    used=_d(raw.get("used", {}).get(currency)),
                )
            )
        return balances

    def fetch_ticker(self, symbol: str) -> Ticker:
        self.rules(symbol)
        raw = self._safe(lambda: self.client.fetch_ticker(symbol))
        last = _dec(raw.get("last")) or _dec(raw.get("close"))
        if last is None:
            raise errors.ExchangeUnavailable(f"{self.exchange_id}: no last price for {symbol}")
        timestamp = raw.get("timestamp") or self.client.milliseconds()
        return Ticker(symbol=symbol, last=last, bid=_dec(raw.get("bid")), ask=_dec(raw.get("ask")), timestamp=timestamp)

    def fetch_ohlcv(self, symbol: str, timeframe: str, *, since: int, limit: int) -> CandleArrays:
        """Closed candles from `since`, oldest first, paging through the exchange (see fetch_candles)."""
        return self.fetch_candles(symbol, timeframe, since=since, limit=limit).closed

    def fetch_candles(
        self, symbol: str, timeframe: str, *, since: int | None, limit: int, backfill: int | None = None
    ) -> CandleFetch:
        """Up to `limit` closed candles from `since`, oldest first, paging through the exchange, and the
        candle still forming. `backfill` bounds how far back they start: at most that many candles before the
        newest (`since` None: exactly there; both None: `limit` candles back).

        A candle is closed when it is older than the exchange's newest candle (the one still forming, read
        first with one small request) and its close time has passed on this machine's clock."""
        rules = self.rules(symbol)
        step = timeframe_ms(timeframe)
        newest = self._safe(lambda: self.client.fetch_ohlcv(symbol, timeframe, None, 2))
        head = int(newest[-1][0]) if newest else None
        if head is not None and (since is None or backfill is not None):
            earliest = head - (backfill or limit) * step
            since = earliest if since is None else max(since, earliest)
        since = since or 0
        rows: list[list[float]] = []
        cursor = since
        page_limit = PAGE_LIMITS[self.exchange_id]
        while len(rows) < limit and (head is None or cursor < head):
            want = min(page_limit, limit - len(rows) + 1)
            page = self._safe(lambda c=cursor, w=want: self.client.fetch_ohlcv(symbol, timeframe, c, w))
            page = [r for r in page if r[0] >= cursor and (not rows or r[0] > rows[-1][0])]
            if not page:
                break
            rows.extend(page)
            cursor = int(rows[-1][0]) + step
        now = self.client.milliseconds()
        closed = [r for r in rows if (head is None or r[0] < head) and r[0] + step <= now][:limit]
        forming = newest[-1:]
        return CandleFetch(closed=self._candle_arrays(closed, rules), forming=self._candle_arrays(forming, rules))

    def _candle_arrays(self, rows: list[list[Any]], rules: MarketRules) -> CandleArrays:
        """ccxt OHLCV rows as arrays, the volume in base units (Gate counts contracts)."""
        size = rules.contract_size
        return CandleArrays.from_rows([[r[0], r[1], r[2], r[3], r[4], float(_d(r[5]) * size)] for r in rows])

    def fetch_open_orders(self, symbol: str | None = None) -> list[Order]:
        if symbol is not None:
            self.rules(symbol)
        else:
            self._ensure_markets()
        regular = self._safe(lambda: self.client.fetch_open_orders(symbol))
        orders = [self._order(raw) for raw in regular]
        if not self.is_spot:
            triggers = self._safe(lambda: self.client.fetch_open_orders(symbol, None, None, {"trigger": True}))
            orders += [self._order(raw, protective=True) for raw in triggers]
        return [o for o in orders if o.symbol in self._rules]

    def fetch_positions(self, symbols: list[str] | None = None) -> list[Position]:
        if self.is_spot:
            return []
        self._ensure_markets()
        raw_positions = self._safe(lambda: self.client.fetch_positions(symbols))
        positions = []
        for raw in raw_positions:
            contracts = _d(raw.get("contracts"))
            if not contracts or raw.get("symbol") not in self._rules:
                continue
            rules = self._rules[raw["symbol"]]
            leverage = raw.get("leverage")
            margin_mode = raw.get("marginMode")
            positions.append(
                Position(
                    symbol=raw["symbol"],
                    side=PositionSide(raw["side"]),
                    amount=abs(contracts) * rules.contract_size,
                    entry_price=_d(raw.get("entryPrice")),
                    mark_price=_dec(raw.get("markPrice")),
                    unrealized_pnl=_d(raw.get("unrealizedPnl")),
                    leverage=int(leverage) if leverage else None,
                    margin_mode=MarginMode(margin_mode) if margin_mode in ("isolated", "cross") else None,
                    liquidation_price=_dec(raw.get("liquidationPrice")),
                )
            )
        return positions

    # --- orders ----------------------------------------------------------------------------------------
    def _client_id_param(self, client_order_id: str) -> str:
        # Gate wants a "t-" text; ccxt adds it for plain orders but not for price-triggered ones, so add it here.
        if self.is_gate and not client_order_id.startswith(GATE_TEXT_PREFIX):
            return GATE_TEXT_PREFIX + client_order_id
        return client_order_id

    def _contracts(self, amount: Decimal, rules: MarketRules) -> float:
        return float(amount / rules.contract_size)

    def create_order(self, request: OrderRequest) -> Order:
        rules = self.rules(request.symbol)
        if request.reduce_only and self.is_spot:
            raise errors.InvalidOrder(f"{self.exchange_id} spot has no reduce-only orders")
        if request.type is OrderType.LIMIT and request.price is None:
            raise errors.InvalidOrder("a limit order needs a price")
        # Reduce-only orders are exempt from the minimum notional (they may close a small remainder).
        checked = replace(rules, min_notional=ZERO) if request.reduce_only else rules
        amount, price = prepare_order(
            request.amount,
            request.price if request.type is OrderType.LIMIT else None,
            checked,
            side=request.side,
        )
        if request.type is OrderType.MARKET and checked.min_notional > ZERO:
            # The notional of a market order needs a price: the last trade (read only once the cheap checks pass).
            check_order(amount, None, checked, reference_price=self.fetch_ticker(request.symbol).last)
        params: dict[str, Any] = {"clientOrderId": self._client_id_param(request.client_order_id)}
        if request.reduce_only:
            params["reduceOnly"] = True
        return self._submit(
            request.symbol,
            request.client_order_id,
            protective=False,
            send=lambda: self.client.create_order(
                request.symbol,
                request.type.value,
                request.side.value,
                self._contracts(amount, rules),
                float(price) if price is not None else None,
                params,
            ),
        )

    def create_protective_order(self, request: ProtectiveOrderRequest) -> Order:
        rules = self.rules(request.symbol)
        is_stop = request.kind is ProtectionKind.STOP_LOSS
        price_key = "stopLossPrice" if is_stop else "takeProfitPrice"
        if self.is_spot:
            limit_price = request.limit_price
            if limit_price is None and is_stop:
                raise errors.InvalidOrder("a spot stop-loss is a stop-limit order and needs limit_price")
            limit_price = limit_price if limit_price is not None else request.trigger_price
            amount, price = prepare_order(request.amount, limit_price, rules, side=request.side)
            trigger = round_price(request.trigger_price, rules, side=request.side)
            params: dict[str, Any] = {price_key: float(trigger), "clientOrderId": request.client_order_id}
            order_type, order_price = "limit", float(price)  # type: ignore[arg-type]
        else:
            amount, trigger = prepare_order(
                request.amount, request.trigger_price, replace(rules, min_notional=ZERO), side=request.side
            )
            params = {
                price_key: float(trigger),  # type: ignore[arg-type]
                "reduceOnly": True,
                "clientOrderId": self._client_id_param(request.client_order_id),
            }
            order_type, order_price = "market", None
        order = self._submit(
            request.symbol,
            request.client_order_id,
            protective=True,
            send=lambda: self.client.create_order(
                request.symbol,
                order_type,
                request.side.value,
                self._contracts(amount, rules),
                order_price,
                params,
            ),
        )
        if not order.amount:
            # Gate answers a new price order with its id only; the rest is what was just accepted.
            kind = request.kind.value if not self.is_spot else order.type
            order = replace(order, side=request.side, amount=amount, trigger_price=trigger, type=kind)
        return order

    def _submit(self, symbol: str, client_order_id: str, *, protective: bool, send: Callable[[], Any]) -> Order:
        """Send once. When the outcome is unknown, look the order up instead of sending it again."""
        try:
            raw = send()
        except (ccxt.RateLimitExceeded, ccxt.DDoSProtection) as exc:
            raise self.translate(exc) from None  # refused before processing
        except ccxt.NetworkError as exc:  # timeout, dropped connection, 5xx: it may have been accepted
            failure = self.translate(exc)
            try:
                found = self.fetch_order_by_client_id(symbol, client_order_id, protective=protective)
            except errors.AdapterError as lookup_exc:
                raise errors.OrderStateUnknown(
                    f"{failure}; the lookup of client order id {client_order_id} failed too: {lookup_exc}"
                ) from None
            if found is not None:
                return found
            raise errors.OrderStateUnknown(
                f"{failure}; no order with client order id {client_order_id} was found afterwards. "
                "Look it up again before submitting it anew."
            ) from None
        except ccxt.BaseError as exc:
            raise self.translate(exc) from None
        order = self._order(raw, protective=protective)
        if order.client_order_id is None:
            order = replace(order, client_order_id=client_order_id)
        return order

    def cancel_order(self, symbol: str, *, order_id: str, protective: bool = False) -> Order:
        self.rules(symbol)
        params = {"trigger": True} if protective and not self.is_spot else {}
        raw = self._call(lambda: self.client.cancel_order(order_id, symbol, params))
        order = self._order(raw, protective=protective)
        if not order.amount:
            # Binance answers an algo cancel with the ids only: read the order back (a safe call).
            with contextlib.suppress(errors.AdapterError):
                raw = self._safe(lambda: self.client.fetch_order(order_id, symbol, params))
                order = self._order(raw, protective=protective)
        if order.status is OrderStatus.OPEN:
            order = replace(order, status=OrderStatus.CANCELED)  # the cancel call itself succeeded
        return order

    def fetch_order_by_client_id(self, symbol: str, client_order_id: str, *, protective: bool = False) -> Order | None:
        self.rules(symbol)
        wire_id = self._client_id_param(client_order_id)
        if protective and self.is_gate:
            return self._gate_price_order_by_text(symbol, wire_id)
        params: dict[str, Any] = {"clientOrderId": wire_id}
        if protective and not self.is_spot:
            params["trigger"] = True
        try:
            raw = self._safe(lambda: self.client.fetch_order(None, symbol, params))
        except errors.OrderNotFound:
            if self.is_gate and not protective:
                return self._gate_finished_order_by_text(symbol, wire_id)
            return None
        return self._with_fill(self._order(raw, protective=protective), raw)

    def _gate_finished_order_by_text(self, symbol: str, text: str) -> Order | None:
        # Gate finds a plain order by its text only until 60 s after it finished; later only by id. An open
        # order is always found directly, so "not found" may be an older finished one: scan the most recent
        # finished orders (one page), or a worker resuming minutes later would send the order a second time.
        found = self._safe(lambda: self.client.fetch_closed_orders(symbol))
        for raw in found:
            if raw.get("clientOrderId") == text:
                return self._order(raw)
        return None

    def _gate_price_order_by_text(self, symbol: str, text: str) -> Order | None:
        # Gate looks price orders up by numeric id only: search the open, then the finished ones.
        for fetch in (self.client.fetch_open_orders, self.client.fetch_closed_orders):
            found = self._safe(lambda f=fetch: f(symbol, None, None, {"trigger": True}))
            for raw in found:
                if raw.get("clientOrderId") == text:
                    return self._with_fill(self._order(raw, protective=True), raw)
        return None

    def _with_fill(self, order: Order, raw: Mapping[str, Any]) -> Order:
        """A triggered conditional order reports filled=0; take the fill from the order it placed."""
        if not order.protective or order.status is not OrderStatus.CLOSED or self.is_spot:
            return order
        info = raw.get("info") or {}
        child_id = info.get("actualOrderId") or info.get("me_order_id")
        if not child_id or str(child_id) in ("0", ""):
            return order
        child = self._order(self._safe(lambda: self.client.fetch_order(str(child_id), order.symbol)))
        return replace(
            order,
            filled=child.filled,
            average_price=child.average_price,
            fee=child.fee,
            fee_currency=child.fee_currency,
        )

    # --- account settings ------------------------------------------------------------------------------
    def set_leverage(self, symbol: str, leverage: int) -> None:
        if self.is_spot:
            raise errors.InvalidOrder("spot has no leverage")
        rules = self.rules(symbol)
        if leverage < 1 or (rules.max_leverage and leverage > rules.max_leverage):
            raise errors.InvalidOrder(f"leverage {leverage} is outside 1..{rules.max_leverage} for {symbol}")
        params: dict[str, Any] = {}
        if self.is_gate:
            # Gate has one call for both: keep the position's margin mode (leverage > 0 alone means isolated).
            params["marginMode"] = self._gate_margin_mode(symbol)
        self._safe(lambda: self.client.set_leverage(leverage, symbol, params))

    def set_margin_mode(self, symbol: str, mode: MarginMode) -> None:
        if self.is_spot:
            raise errors.InvalidOrder("spot has no margin mode")
        self.rules(symbol)
        if self.is_gate:
            leverage = self._gate_leverage(symbol)
            self._safe(lambda: self.client.set_leverage(leverage, symbol, {"marginMode": mode.value}))
            return

        def call() -> None:
            with contextlib.suppress(ccxt.MarginModeAlreadySet):  # already in that mode: the wanted state
                self.client.set_margin_mode(mode.value, symbol)

        self._safe(call)

    def _gate_position(self, symbol: str) -> dict[str, Any]:
        return self._safe(lambda: self.client.fetch_position(symbol)) or {}

    def _gate_margin_mode(self, symbol: str) -> str:
        mode = self._gate_position(symbol).get("marginMode")
        return mode if mode in ("isolated", "cross") else "isolated"

    def _gate_leverage(self, symbol: str) -> int:
        # Isolated positions carry `leverage`; cross ones have leverage 0 and a cross_leverage_limit.
        info = self._gate_position(symbol).get("info") or {}
        for key in ("leverage", "cross_leverage_limit"):
            value = int(Decimal(str(info.get(key) or 0)))
            if value:
                return value
        return GATE_DEFAULT_LEVERAGE

    # --- parsing ---------------------------------------------------------------------------------------
    def _gate_is_take_profit(self, raw: Mapping[str, Any]) -> bool:
        # A closing sell that triggers on a rise (or a closing buy on a fall) takes profit.
        info = raw.get("info") or {}
        rule = (info.get("trigger") or {}).get("rule") if self.is_gate else None
        if rule is None or raw.get("side") not in ("buy", "sell"):
            return False
        rises = int(rule) == GATE_RULE_RISES
        return rises == (raw["side"] == "sell")

    def _order(self, raw: Mapping[str, Any], *, protective: bool = False) -> Order:
        info = raw.get("info") or {}
        symbol = raw.get("symbol") or ""
        rules = self._rules.get(symbol)
        size = rules.contract_size if rules else Decimal(1)
        raw_type = str(raw.get("type") or "").lower()
        info_type = str(info.get("type") or info.get("orderType") or "").lower()
        stop_price = _dec(raw.get("stopLossPrice"))
        take_price = _dec(raw.get("takeProfitPrice"))
        trigger = _dec(raw.get("triggerPrice")) or stop_price or take_price
        if self.is_spot and (raw_type in SPOT_PROTECTIVE_TYPES or info_type in SPOT_PROTECTIVE_TYPES):
            protective = True
        if protective:
            if self.is_spot:
                kind = "take_profit" if "take_profit" in (raw_type + info_type) else "stop_limit"
            elif take_price is not None or "take_profit" in info_type or self._gate_is_take_profit(raw):
                kind = "take_profit"
            else:
                kind = "stop_loss"
        else:
            kind = raw_type or "market"
        fee = raw.get("fee") or {}
        client_id = raw.get("clientOrderId")
        if client_id and self.is_gate and client_id.startswith(GATE_TEXT_PREFIX):
            client_id = client_id[len(GATE_TEXT_PREFIX) :]
        status = STATUSES.get(str(raw.get("status") or "open"), OrderStatus.OPEN)
        return Order(
            id=str(raw.get("id")),
            client_order_id=client_id or None,
            symbol=symbol,
            side=Side(raw["side"]) if raw.get("side") in ("buy", "sell") else Side.BUY,
            type=kind,
            status=status,
            amount=_d(raw.get("amount")) * size,
            filled=_d(raw.get("filled")) * size,
            average_price=_dec(raw.get("average")) or None,
            price=_dec(raw.get("price")) or None,
            trigger_price=trigger,
            reduce_only=bool(raw.get("reduceOnly")) or (protective and not self.is_spot),
            fee=_d(fee.get("cost")),
            fee_currency=fee.get("currency"),
            timestamp=int(raw.get("timestamp") or 0),
            protective=protective,
        )
