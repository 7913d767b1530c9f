"""Market specifications and leverage tiers for the emulated contracts.

Values are the real ones for BTC and ETH USDT perpetuals (Binance ``exchangeInfo`` filters, Gate ``contracts``),
so that ccxt's precision and limit parsing is exercised on realistic numbers. Quantities are in base units
everywhere in the engine; Gate's integer contracts are converted at its dialect boundary.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

TIERS_FILE = "exchange_fixtures/freqtrade_binance_leverage_tiers.json"


@dataclass(frozen=True)
class LeverageTier:
    """One Binance ``leverageBracket`` bracket: notional in [floor, cap) allows ``max_leverage``."""

    bracket: int
    floor: Decimal
    cap: Decimal
    max_leverage: int
    maint_margin_ratio: Decimal
    cum: Decimal


@dataclass(frozen=True)
class MarketSpec:
    symbol: str  # unified ccxt symbol, e.g. "BTC/USDT:USDT"
    base: str
    quote: str
    tick_size: Decimal
    step_size: Decimal  # base units (Gate: one contract = contract_size base)
    min_qty: Decimal
    max_qty: Decimal
    market_max_qty: Decimal
    min_notional: Decimal
    contract_size: Decimal = Decimal(1)
    default_leverage: int = 20
    tiers: tuple[LeverageTier, ...] = field(default_factory=tuple)

    @property
    def max_leverage(self) -> int:
        return self.tiers[0].max_leverage if self.tiers else 125

    def tier_for_notional(self, notional: Decimal) -> LeverageTier | None:
        for tier in self.tiers:
            if notional < tier.cap:
                return tier
        return self.tiers[-1] if self.tiers else None

    def max_notional_for_leverage(self, leverage: int) -> Decimal | None:
        """The largest position notional the leverage allows (Binance ``maxNotionalValue``)."""
        allowed = [tier.cap for tier in self.tiers if tier.max_leverage >= leverage]
        return max(allowed) if allowed else None


def shared_data_dir() -> Path:
    # Same rule as tradeops.settings.SHARED_DATA_DIR, without importing Django.
    default = Path(__file__).resolve().parents[3].parent / "shared" / "data"
    return Path(os.environ.get("TRADEOPS_SHARED_DATA", str(default)))


def _builtin_tiers() -> dict[str, tuple[LeverageTier, ...]]:
    # The first tiers of the real Binance brackets (2024-10), enough for tests without ../shared/data.
    def tiers(rows: list[tuple[int, str, str, int, str, str]]) -> tuple[LeverageTier, ...]:
        return tuple(
            LeverageTier(b, Decimal(f), Decimal(c), lev, Decimal(m), Decimal(cum)) for b, f, c, lev, m, cum in rows
        )

    return {
        "BTC/USDT:USDT": tiers(
            [
                (1, "0", "50000", 125, "0.004", "0"),
                (2, "50000", "600000", 100, "0.005", "50"),
                (3, "600000", "3000000", 75, "0.0065", "950"),
                (4, "3000000", "12000000", 50, "0.01", "11450"),
                (5, "12000000", "70000000", 25, "0.02", "131450"),
            ]
        ),
        "ETH/USDT:USDT": tiers(
            [
                (1, "0", "50000", 125, "0.004", "0"),
                (2, "50000", "600000", 100, "0.005", "50"),
                (3, "600000", "3000000", 75, "0.0065", "950"),
                (4, "3000000", "12000000", 50, "0.01", "11450"),
                (5, "12000000", "50000000", 25, "0.02", "131450"),
            ]
        ),
    }


def load_leverage_tiers(path: Path | None = None) -> dict[str, tuple[LeverageTier, ...]]:
    """Tiers from freqtrade's capture of Binance ``leverageBracket`` if present, else a built-in default."""
    return dict(_load_tiers(str(path or shared_data_dir() / TIERS_FILE)))


@functools.lru_cache(maxsize=4)
def _load_tiers(location: str) -> tuple[tuple[str, tuple[LeverageTier, ...]], ...]:
    path = Path(location)
    tiers = _builtin_tiers()
    if not path.exists():
        return tuple(tiers.items())
    raw = json.loads(path.read_text())
    for symbol in tiers:
        rows = raw.get(symbol)
        if not rows:
            continue
        tiers[symbol] = tuple(
            LeverageTier(
                bracket=int(row["info"]["bracket"]),
                floor=Decimal(row["info"]["notionalFloor"]),
                cap=Decimal(row["info"]["notionalCap"]),
                max_leverage=int(row["info"]["initialLeverage"]),
                maint_margin_ratio=Decimal(row["info"]["maintMarginRatio"]),
                cum=Decimal(row["info"]["cum"]),
            )
            for row in rows
        )
    return tuple(tiers.items())


def binance_markets(tiers: dict[str, tuple[LeverageTier, ...]]) -> dict[str, MarketSpec]:
    return {
        "BTC/USDT:USDT": MarketSpec(
            symbol="BTC/USDT:USDT",
            base="BTC",
            quote="USDT",
            tick_size=Decimal("0.10"),
            step_size=Decimal("0.001"),
            min_qty=Decimal("0.001"),
            max_qty=Decimal("1000"),
            market_max_qty=Decimal("120"),
            min_notional=Decimal("100"),
            tiers=tiers["BTC/USDT:USDT"],
        ),
        "ETH/USDT:USDT": MarketSpec(
            symbol="ETH/USDT:USDT",
            base="ETH",
            quote="USDT",
            tick_size=Decimal("0.01"),
            step_size=Decimal("0.001"),
            min_qty=Decimal("0.001"),
            max_qty=Decimal("10000"),
            market_max_qty=Decimal("2000"),
            min_notional=Decimal("20"),
            tiers=tiers["ETH/USDT:USDT"],
        ),
    }


def gate_markets(tiers: dict[str, tuple[LeverageTier, ...]]) -> dict[str, MarketSpec]:
    # Gate sizes are whole contracts: BTC_USDT is 0.0001 BTC, ETH_USDT 0.01 ETH; no minimum notional.
    # Gate's own risk-limit tiers differ; Binance's brackets stand in for them (leverage_max 125 / 100).
    btc_tiers = tiers["BTC/USDT:USDT"]
    eth_tiers = tuple(t if t.max_leverage <= 100 else _cap_leverage(t, 100) for t in tiers["ETH/USDT:USDT"])
    return {
        "BTC/USDT:USDT": MarketSpec(
            symbol="BTC/USDT:USDT",
            base="BTC",
            quote="USDT",
            tick_size=Decimal("0.1"),
            step_size=Decimal("0.0001"),
            min_qty=Decimal("0.0001"),
            max_qty=Decimal("100"),
            market_max_qty=Decimal("100"),
            min_notional=Decimal(0),
            contract_size=Decimal("0.0001"),
            default_leverage=10,
            tiers=btc_tiers,
        ),
        "ETH/USDT:USDT": MarketSpec(
            symbol="ETH/USDT:USDT",
            base="ETH",
            quote="USDT",
            tick_size=Decimal("0.01"),
            step_size=Decimal("0.01"),
            min_qty=Decimal("0.01"),
            max_qty=Decimal("10000"),
            market_max_qty=Decimal("10000"),
            min_notional=Decimal(0),
            contract_size=Decimal("0.01"),
            default_leverage=10,
            tiers=eth_tiers,
        ),
    }


def _cap_leverage(tier: LeverageTier, cap: int) -> LeverageTier:
    return LeverageTier(tier.bracket, tier.floor, tier.cap, cap, tier.maint_margin_ratio, tier.cum)


def synthetic_perpetuals(count: int) -> tuple[MarketSpec, ...]:
    """`count` made-up USDT perpetuals, SYN001/USDT:USDT onwards, for benchmarks that need many markets (the
    emulator serves them beside its real ones when given as `extra_markets`; they trade like a 100 USDT coin)."""
    return tuple(
        MarketSpec(
            symbol=f"SYN{number:03d}/USDT:USDT",
            base=f"SYN{number:03d}",
            quote="USDT",
            tick_size=Decimal("0.01"),
            step_size=Decimal("0.01"),
            min_qty=Decimal("0.01"),
            max_qty=Decimal("100000"),
            market_max_qty=Decimal("10000"),
            min_notional=Decimal(5),
            contract_size=Decimal("0.01"),
        )
        for number in range(1, count + 1)
    )


def binance_spot_markets() -> dict[str, MarketSpec]:
    # Binance spot BTCUSDT / ETHUSDT filters (LOT_SIZE, PRICE_FILTER, NOTIONAL) as of 2025; no leverage.
    def spot(base: str, tick: str, step: str, max_qty: str, market_max: str) -> MarketSpec:
        return MarketSpec(
            symbol=f"{base}/USDT",
            base=base,
            quote="USDT",
            tick_size=Decimal(tick),
            step_size=Decimal(step),
            min_qty=Decimal(step),
            max_qty=Decimal(max_qty),
            market_max_qty=Decimal(market_max),
            min_notional=Decimal(5),
            default_leverage=1,
        )

    return {
        "BTC/USDT": spot("BTC", "0.01", "0.00001", "9000", "100"),
        "ETH/USDT": spot("ETH", "0.01", "0.0001", "9000", "2000"),
    }
