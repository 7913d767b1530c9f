"""The adapter interface and the values it exchanges (pure; no Django).

Amounts and prices are Decimal at this boundary. Symbols are ccxt unified symbols
(BTC/USDT:USDT for USDT perpetuals, BTC/USDT for spot). Times are epoch milliseconds (UTC).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from apps.market.arrays import CandleArrays


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"


class ProtectionKind(StrEnum):
    STOP_LOSS = "stop_loss"
    TAKE_PROFIT = "take_profit"


class OrderStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"  # fully filled
    CANCELED = "canceled"
    EXPIRED = "expired"
    REJECTED = "rejected"


class PositionSide(StrEnum):
    LONG = "long"
    SHORT = "short"


class MarginMode(StrEnum):
    ISOLATED = "isolated"
    CROSS = "cross"


@dataclass(frozen=True)
class MarketRules:
    symbol: str
    base: str
    quote: str
    type: str  # "spot" or "swap"
    tick: Decimal  # price step
    step: Decimal  # amount step
    min_amount: Decimal
    min_notional: Decimal
    max_leverage: int | None
    contract_size: Decimal = Decimal(1)


@dataclass(frozen=True)
class Balance:
    currency: str
    total: Decimal
    free: Decimal
    used: Decimal


@dataclass(frozen=True)
class Ticker:
    symbol: str
    last: Decimal
    bid: Decimal | None
    ask: Decimal | None
    timestamp: int


@dataclass(frozen=True)
class CandleFetch:
    """What one OHLCV fetch saw: the closed candles asked for, and the exchange's newest candle, still
    forming (none or one row), read by the same requests."""

    closed: CandleArrays
    forming: CandleArrays


@dataclass(frozen=True)
class OrderRequest:
    symbol: str
    side: Side
    type: OrderType
    amount: Decimal
    client_order_id: str
    price: Decimal | None = None  # limit orders
    reduce_only: bool = False


@dataclass(frozen=True)
class ProtectiveOrderRequest:
    """A separate reduce-only conditional order that closes `amount` when `trigger_price` trades.

    On spot, where reduce-only does not exist, a stop-loss is a stop-limit order at
    `limit_price` (required there)."""

    symbol: str
    side: Side  # the closing side: SELL protects a long
    kind: ProtectionKind
    amount: Decimal
    trigger_price: Decimal
    client_order_id: str
    limit_price: Decimal | None = None


@dataclass(frozen=True)
class Order:
    id: str
    client_order_id: str | None
    symbol: str
    side: Side
    type: str  # market, limit, stop_loss, take_profit, stop_limit
    status: OrderStatus
    amount: Decimal
    filled: Decimal
    average_price: Decimal | None
    price: Decimal | None
    trigger_price: Decimal | None
    reduce_only: bool
    fee: Decimal
    fee_currency: str | None
    timestamp: int
    protective: bool = False
    market_timestamp: int | None = None  # paper: the replay's candle time when placed (epoch ms)


@dataclass(frozen=True)
class Position:
    symbol: str
    side: PositionSide
    amount: Decimal  # in base units, positive
    entry_price: Decimal
    mark_price: Decimal | None
    unrealized_pnl: Decimal
    leverage: int | None
    margin_mode: MarginMode | None
    liquidation_price: Decimal | None


class ExchangeAdapter(ABC):
    """What TradeOps needs from an exchange. Implementations: CcxtAdapter, PaperAdapter."""

    # Whether fetch_balance's total already counts the open positions' unrealised PnL: Binance
    # USDT-M's marginBalance does; Gate's and the paper exchange's wallet totals do not.
    balance_includes_unrealized: bool = False

    @abstractmethod
    def load_markets(self) -> list[MarketRules]: ...

    @abstractmethod
    def fetch_balance(self) -> list[Balance]: ...

    @abstractmethod
    def fetch_ticker(self, symbol: str) -> Ticker: ...

    @abstractmethod
    def fetch_ohlcv(self, symbol: str, timeframe: str, *, since: int, limit: int) -> CandleArrays:
        """Closed candles from `since` (inclusive), at most `limit`, oldest first."""

    @abstractmethod
    def create_order(self, request: OrderRequest) -> Order: ...

    @abstractmethod
    def create_protective_order(self, request: ProtectiveOrderRequest) -> Order: ...

    @abstractmethod
    def cancel_order(self, symbol: str, *, order_id: str, protective: bool = False) -> Order: ...

    @abstractmethod
    def fetch_order_by_client_id(self, symbol: str, client_order_id: str, *, protective: bool = False) -> Order | None:
        """The order with this client order id, or None when the exchange has none."""

    @abstractmethod
    def fetch_open_orders(self, symbol: str | None = None) -> list[Order]: ...

    @abstractmethod
    def fetch_positions(self, symbols: list[str] | None = None) -> list[Position]: ...

    @abstractmethod
    def set_leverage(self, symbol: str, leverage: int) -> None: ...

    @abstractmethod
    def set_margin_mode(self, symbol: str, mode: MarginMode) -> None: ...
