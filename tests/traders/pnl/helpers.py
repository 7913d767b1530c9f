"""A desk worked by hand (tests/traders/pnl/test_selectors.py's docstring has the arithmetic); the
`hand_desk` fixture of conftest.py, and the browser test's.

Account "Hand" (live, starting balance 10,000), market BTC/USDT:USDT marked at 48 (its newest candle):
- trader A, plan 1: buy 2 at 100 (fee 0.08), take-profit sells 2 at 110 (fee 0.088) -- YESTERDAY
- trader A, plan 2: sell 1 at 200 (fee 0.08), stop-loss buys 1 at 210 (fee 0.084)  -- today
- trader A, plan 3: buy 3 at 50 (fee 0.06), still open                              -- today
- trader B, plan 4: buy 1 at 100 (fee 0.04), exit sells 1 at 105 (fee 0.042)       -- today
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from apps.exchanges.models import ExchangeAccount
from apps.market.models import Candle
from apps.traders.models import Execution, TradePlan, Trader
from tests.factories import MarketFactory, RiskProfileFactory

D = Decimal


@dataclass
class HandDesk:
    account: ExchangeAccount
    a: Trader
    b: Trader


def add_plan(trader: Trader, market, side: str, status: str, legs: list[tuple[str, str, str, str]], *, at: datetime):
    """`legs`: (leg, quantity, price, fee); every execution is recorded (updated) at `at`."""
    plan = TradePlan.objects.create(
        trader=trader,
        account=trader.account,
        market=market,
        side=side,
        quantity=D(legs[0][1]),
        filled_quantity=D(legs[0][1]),
        average_entry_price=D(legs[0][2]),
        reference_price=D(legs[0][2]),
        live=False,
        risk_report={},
        estimate={},
        expires_at=timezone.now(),
        status=status,
    )
    for leg, quantity, price, fee in legs:
        closing = "sell" if side == "buy" else "buy"
        Execution.objects.create(
            plan=plan,
            leg=leg,
            client_order_id=f"to-{plan.pk}-{leg[:2]}1",
            side=side if leg == "entry" else closing,
            order_type="market",
            amount=D(quantity),
            filled=D(quantity),
            average_price=D(price),
            trigger_price=D(price) if leg in ("stop_loss", "take_profit") else None,
            fee=D(fee),
            fee_currency="USDT",
            status="filled",
        )
    Execution.objects.filter(plan=plan).update(updated_at=at)
    return plan


def build_hand_desk() -> HandDesk:
    account = ExchangeAccount.objects.create(
        name="Hand", exchange="binanceusdm", mode="live", price_source="live", paper_starting_balance=D(10000)
    )
    profile = RiskProfileFactory()
    a = Trader.objects.create(name="A", account=account, risk_profile=profile)
    b = Trader.objects.create(name="B", account=account, risk_profile=profile)
    market = MarketFactory()
    Candle.objects.create(
        market=market,
        timeframe="1m",
        open_time=datetime(2026, 1, 1, tzinfo=UTC),
        open=D(48),
        high=D(48),
        low=D(48),
        close=D(48),
        volume=D(1),
    )
    now = timezone.now()
    yesterday = now - timedelta(days=1)
    done = TradePlan.Status.COMPLETED
    add_plan(
        a, market, "buy", done, [("entry", "2", "100", "0.08"), ("take_profit", "2", "110", "0.088")], at=yesterday
    )
    add_plan(a, market, "sell", done, [("entry", "1", "200", "0.08"), ("stop_loss", "1", "210", "0.084")], at=now)
    add_plan(a, market, "buy", TradePlan.Status.ENTRY_FILLED, [("entry", "3", "50", "0.06")], at=now)
    add_plan(b, market, "buy", done, [("entry", "1", "100", "0.04"), ("exit", "1", "105", "0.042")], at=now)
    return HandDesk(account=account, a=a, b=b)
