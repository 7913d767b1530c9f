"""Markets kept in step with the exchange's own description of them (precision, minimums, maximum leverage).

The exchange is read through the process's keyless public client (adapters.pool), so a sync needs no account
and shares the rate limiter with every other market-data request. Every symbol is checked against the
exchange's listing before anything is written, and the writes of one sync are one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from django.db import transaction

from apps.exchanges.adapters import errors
from apps.exchanges.adapters.base import MarketRules
from apps.exchanges.adapters.pool import public_adapter
from apps.exchanges.services.accounts import market_rules_changes, market_sync_from_exchange
from apps.market import services as market_services
from apps.market.describers import MarketUndescribed
from apps.market.models import ExchangeId, Market


class SyncOutcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    DELISTED = "delisted"  # stored here, no longer listed by the exchange; left as it was
    DEACTIVATED = "deactivated"  # delisted, and marked inactive on request


@dataclass(frozen=True)
class MarketSyncRow:
    symbol: str
    outcome: SyncOutcome
    rules: MarketRules | None = None  # None for a delisted market


class UnknownExchange(ValueError):
    def __init__(self, exchange: str) -> None:
        super().__init__(f"unknown exchange {exchange!r}; supported: {', '.join(ExchangeId.values)}")


class SymbolsNotListed(ValueError):
    """Symbols the exchange does not list (or lists as inactive); nothing was written."""

    def __init__(self, exchange: str, symbols: Sequence[str]) -> None:
        super().__init__(f"{exchange} does not list {', '.join(symbols)}; nothing was changed")
        self.symbols = list(symbols)


def markets_sync(
    *,
    exchange: str,
    symbols: Sequence[str] = (),
    listed: bool = False,
    deactivate_missing: bool = False,
) -> list[MarketSyncRow]:
    """Bring the stored markets of `exchange` up to date with the exchange's rules, by symbol.

    Updates every stored market of the exchange, creates the given `symbols` that are not stored yet (and
    every market the exchange lists when `listed`), and reports stored markets the exchange no longer lists
    (marked inactive only with `deactivate_missing`). Raises UnknownExchange, SymbolsNotListed (before any
    write) and AdapterError when the exchange cannot be read."""
    if exchange not in ExchangeId.values:
        raise UnknownExchange(exchange)
    offered = {rules.symbol: rules for rules in public_adapter(exchange).load_markets()}
    missing = [symbol for symbol in symbols if symbol not in offered]
    if missing:
        raise SymbolsNotListed(exchange, missing)
    wanted = set(symbols) | (_valid_symbols(offered) if listed else set())
    return _apply(exchange=exchange, offered=offered, wanted=wanted, deactivate_missing=deactivate_missing)


def _valid_symbols(offered: Iterable[str]) -> set[str]:
    # An exchange's full listing can hold symbols that are no ccxt unified BASE/QUOTE[:SETTLE] (index
    # contracts, dated futures with a suffix): those are not markets TradeOps trades.
    return {symbol for symbol in offered if market_services.SYMBOL_PATTERN.match(symbol)}


@transaction.atomic
def _apply(
    *, exchange: str, offered: dict[str, MarketRules], wanted: set[str], deactivate_missing: bool
) -> list[MarketSyncRow]:
    stored = {market.symbol: market for market in Market.objects.select_for_update().filter(exchange=exchange)}
    rows = []
    for symbol in sorted(set(stored) | wanted):
        rules = offered.get(symbol)
        if rules is None:
            rows.append(_delisted(stored[symbol], deactivate=deactivate_missing))
            continue
        market = stored.get(symbol)
        outcome = (
            SyncOutcome.CREATED
            if market is None
            else SyncOutcome.UPDATED
            if market_rules_changes(market, rules)
            else SyncOutcome.UNCHANGED
        )
        market_sync_from_exchange(exchange=exchange, rules=rules)
        rows.append(MarketSyncRow(symbol=symbol, outcome=outcome, rules=rules))
    return rows


def _delisted(market: Market, *, deactivate: bool) -> MarketSyncRow:
    if not deactivate:
        return MarketSyncRow(symbol=market.symbol, outcome=SyncOutcome.DELISTED)
    if market.active:
        market_services.market_update(market=market, changes={"active": False})
    return MarketSyncRow(symbol=market.symbol, outcome=SyncOutcome.DEACTIVATED)


def market_sync_symbol(*, exchange: str, symbol: str) -> Market:
    """Create or update one market from the exchange's rules, leaving the exchange's other markets alone.
    Raises UnknownExchange, SymbolsNotListed and AdapterError; writes nothing when it raises."""
    if exchange not in ExchangeId.values:
        raise UnknownExchange(exchange)
    rules = next((r for r in public_adapter(exchange).load_markets() if r.symbol == symbol), None)
    if rules is None:
        raise SymbolsNotListed(exchange, [symbol])
    return market_sync_from_exchange(exchange=exchange, rules=rules)


def market_describe_from_exchange(exchange: str, symbol: str) -> Market:
    """apps.market's describer (registered in ExchangesConfig.ready): market_sync_symbol, its failures told in
    apps.market's terms."""
    try:
        return market_sync_symbol(exchange=exchange, symbol=symbol)
    except errors.AdapterError as exc:
        raise MarketUndescribed(f"{exchange} was unreachable ({type(exc).__name__}: {exc})") from None
    except SymbolsNotListed:
        raise MarketUndescribed(f"{exchange} does not list {symbol}") from None
    except UnknownExchange as exc:
        raise MarketUndescribed(str(exc)) from None
