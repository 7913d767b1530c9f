from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.exchanges.adapters.base import MarketRules, Side
from apps.exchanges.adapters.errors import InvalidOrder
from apps.exchanges.adapters.rounding import check_order, prepare_order, round_amount, round_price

BINANCE_BTC = MarketRules(
    symbol="BTC/USDT:USDT",
    base="BTC",
    quote="USDT",
    type="swap",
    tick=Decimal("0.10"),
    step=Decimal("0.001"),
    min_amount=Decimal("0.001"),
    min_notional=Decimal("100"),
    max_leverage=125,
)
GATE_ETH = MarketRules(
    symbol="ETH/USDT:USDT",
    base="ETH",
    quote="USDT",
    type="swap",
    tick=Decimal("0.01"),
    step=Decimal("0.01"),
    min_amount=Decimal("0.01"),
    min_notional=Decimal(0),
    max_leverage=100,
    contract_size=Decimal("0.01"),
)

steps = st.sampled_from([Decimal(s) for s in ("0.001", "0.0001", "0.01", "0.1", "1", "5", "0.00025")])
ticks = st.sampled_from([Decimal(s) for s in ("0.1", "0.01", "0.5", "1", "0.0001", "10")])
amounts = st.decimals(min_value=Decimal("0.00001"), max_value=Decimal("10000"), places=6)
prices = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("200000"), places=5)


@st.composite
def markets(draw: st.DrawFn) -> MarketRules:
    step = draw(steps)
    return MarketRules(
        symbol="X/USDT:USDT",
        base="X",
        quote="USDT",
        type="swap",
        tick=draw(ticks),
        step=step,
        min_amount=step * draw(st.integers(1, 20)),
        min_notional=Decimal(draw(st.sampled_from([0, 5, 20, 100]))),
        max_leverage=None,
    )


def _on_grid(value: Decimal, step: Decimal) -> bool:
    return value % step == 0


@given(markets(), amounts, prices, st.sampled_from([Side.BUY, Side.SELL, None]))
def test_an_accepted_order_never_breaks_the_filters_nor_exceeds_the_request(
    rules: MarketRules, amount: Decimal, price: Decimal, side: Side | None
) -> None:
    try:
        sent_amount, sent_price = prepare_order(amount, price, rules, side=side)
    except InvalidOrder:
        return
    assert sent_price is not None
    assert _on_grid(sent_amount, rules.step) and _on_grid(sent_price, rules.tick)
    assert sent_amount <= amount
    assert sent_amount >= rules.min_amount
    assert sent_amount * sent_price >= rules.min_notional
    assert amount - sent_amount < rules.step
    assert abs(sent_price - price) < rules.tick
    if side is Side.BUY:
        assert sent_price <= price  # never pays more than asked
    if side is Side.SELL:
        assert sent_price >= price  # never sells for less


@given(markets(), amounts)
def test_round_amount_floors_to_the_step(rules: MarketRules, amount: Decimal) -> None:
    rounded = round_amount(amount, rules)
    assert _on_grid(rounded, rules.step) and rounded <= amount < rounded + rules.step


@given(markets(), amounts, prices)
def test_a_refusal_is_a_real_violation(rules: MarketRules, amount: Decimal, price: Decimal) -> None:
    sent_amount = round_amount(amount, rules)
    sent_price = round_price(price, rules)
    violates = sent_amount < rules.min_amount or sent_amount * sent_price < rules.min_notional or sent_price <= 0
    try:
        check_order(sent_amount, sent_price, rules)
    except InvalidOrder:
        assert violates
    else:
        assert not violates


@pytest.mark.parametrize(
    ("amount", "price", "message"),
    [
        ("0.0004", "30000", "amount 0.0004 is below the minimum 0.001 BTC"),
        ("0.002", "22600", "notional 45.20 USDT is below the minimum 100"),
        ("0.0105", "30000", "not a multiple of the step 0.001"),
        ("0.010", "29000.05", "not a multiple of the tick 0.1 USDT"),
        ("0", "30000", "amount 0 is below the minimum"),
        ("-1", "30000", "must be positive"),
        ("0.010", "-5", "price -5 USDT must be positive"),
    ],
)
def test_check_order_says_why(amount: str, price: str, message: str) -> None:
    with pytest.raises(InvalidOrder, match=message):
        check_order(Decimal(amount), Decimal(price), BINANCE_BTC)


def test_examples() -> None:
    assert round_amount(Decimal("0.01234"), BINANCE_BTC) == Decimal("0.012")
    assert str(round_amount(Decimal("0.0109"), BINANCE_BTC)) == "0.010"
    assert round_price(Decimal("29000.05"), BINANCE_BTC, side=Side.BUY) == Decimal("29000.0")
    assert round_price(Decimal("29000.05"), BINANCE_BTC, side=Side.SELL) == Decimal("29000.1")
    assert round_price(Decimal("29000.04"), BINANCE_BTC) == Decimal("29000.0")
    assert round_amount(Decimal("0.129"), GATE_ETH) == Decimal("0.12")
    # A market order's notional is checked against a reference price.
    with pytest.raises(InvalidOrder, match="notional 60.00 USDT"):
        check_order(Decimal("0.002"), None, BINANCE_BTC, reference_price=Decimal("30000"))
    check_order(Decimal("0.002"), None, BINANCE_BTC)  # no reference: notional unchecked
