"""Numbers as pages, errors and admin lists show them (apps.core.numbers and its template filters)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from django.template import Context, Template

from apps.core import numbers


@pytest.mark.parametrize(
    ("value", "tick", "shown"),
    [
        (D("9998.001922984500"), D("0.1"), "9998"),  # the raw price, at a 0.1 tick
        (D("20995.83"), D("0.1"), "20995.8"),
        (D("20995.85"), D("0.1"), "20995.9"),  # half up, as people round
        (D("21000.000000000000"), D("0.1"), "21000"),  # no trailing noise zeros
        (D("0.190000000000"), D("0.001"), "0.19"),  # the raw amount, at a 0.001 step
        (D("1.2345"), D("0.25"), "1.23"),  # a tick of 0.25 has two decimals
        (D("123.4"), D("10"), "123"),  # a tick above 1 shows whole numbers
        (D("20000"), None, "20000"),  # an unknown market: full precision, still plain
        (D("2E+4"), D("0.1"), "20000"),  # never an exponent
        (D("-0.04"), D("0.1"), "0"),  # never "-0"
    ],
)
def test_at_increment_rounds_to_the_decimals_of_the_tick_or_step(value: D, tick: D | None, shown: str) -> None:
    assert numbers.at_increment(value, tick) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (D("1.998077015496"), "2.00"),  # the raw fee
        (D("1234567.891"), "1,234,567.89"),
        (D("-12.345"), "-12.35"),
        (D("-0.001"), "0.00"),
        (0, "0.00"),
    ],
)
def test_money_has_two_decimals_and_thousands_separators(value: D, shown: str) -> None:
    assert numbers.money(value) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (23.96002633051728, "23.96"),  # the raw RSI (a float, as the signal inputs store it)
        ("20995.8", "20,995.80"),
        (D("0.000123456"), "0.0001235"),  # a tiny value keeps four significant digits, not 0.00
        (0.0, "0.00"),
    ],
)
def test_indicator_values_have_two_decimals(value: object, shown: str) -> None:
    assert numbers.indicator(value) == shown


def test_plain_number_keeps_full_precision_without_noise() -> None:
    assert numbers.plain_number(D("0.200000000000")) == "0.2"
    assert numbers.plain_number(D("9998.001922984500")) == "9998.0019229845"
    assert numbers.plain_number(D("2E+4")) == "20000"


@pytest.mark.parametrize("bad", ["abc", "NaN", "Infinity", None, True])
def test_formatting_something_that_is_not_a_number_says_so(bad: object) -> None:
    with pytest.raises(ValueError, match="not a number"):
        numbers.money(bad)


class FakeMarket:
    price_precision = D("0.1")
    amount_precision = D("0.001")


def render(text: str, **context: object) -> str:
    return Template("{% load tradeops %}" + text).render(Context(context))


def test_filters_format_at_the_market_and_leave_blanks_to_default() -> None:
    shown = render(
        "{{ p|price:m }}|{{ q|amount:m }}|{{ f|money }}|{{ r|indicator }}|{{ none|price:m|default:'—' }}",
        m=FakeMarket(),
        p=D("9998.001922984500"),
        q=D("0.190000000000"),
        f=D("1.998077015496"),
        r=23.96002633051728,
        none=None,
    )
    assert shown == "9998|0.19|2.00|23.96|—"


def test_filters_take_a_bare_increment_and_pass_text_through() -> None:
    assert render("{{ p|price:tick }}", p=D("1.2345"), tick=D("0.01")) == "1.23"
    assert render("{{ p|price }}", p=D("1.2345000")) == "1.2345"
    assert render("{{ t|money }}", t="n/a") == "n/a"


def test_shown_formats_by_kind_and_names_an_unknown_kind() -> None:
    assert numbers.shown(D("20995.83"), "price", FakeMarket()) == "20995.8"
    assert numbers.shown(D("0.1904"), "amount", FakeMarket()) == "0.19"
    assert numbers.shown(D("20995.83"), "price") == "20995.83"  # no market: full precision
    assert numbers.shown(2 / 3, "percent") == "66.67 %"
    with pytest.raises(
        ValueError, match="kind must be one of price, amount, money, indicator, percent, plain, got 'pct'"
    ):
        numbers.shown(1, "pct")
