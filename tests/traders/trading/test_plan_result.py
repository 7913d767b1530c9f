"""Realised PnL and fees of a plan: the pure calculation against hand-computed numbers, and what the
plan pages (cents) and the API (full precision) show of it."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from django.urls import reverse

from apps.traders.models import Execution, TradePlan
from apps.traders.trade_rules import Fill, plan_result
from tests.traders.trading.test_api import client_for
from tests.traders.trading.test_pages import url

pytestmark = pytest.mark.django_db


def test_a_long_closed_by_its_take_profit() -> None:
    # Bought 0.1 at 20,000 and 0.1 at 20,100 (average 20,050); sold 0.2 at 21,000.
    # Gross: 0.2 x (21,000 - 20,050) = 190. Fees: 0.8 + 0.804 + 1.68 = 3.284. Realised: 186.716.
    fills = [
        Fill("entry", D("0.1"), D("20000"), D("0.8"), "USDT"),
        Fill("entry", D("0.1"), D("20100"), D("0.804"), "USDT"),
        Fill("take_profit", D("0.2"), D("21000"), D("1.68"), "USDT"),
        Fill("stop_loss", D("0"), None, D("0"), ""),  # cancelled unfilled: no effect
    ]
    result = plan_result(side="buy", base="BTC", quote="USDT", fills=fills)
    assert result.gross_pnl == D("190")
    assert result.fees == D("3.284")
    assert result.realised_pnl == D("186.716")
    assert (result.entry_quantity, result.closed_quantity) == (D("0.2"), D("0.2"))
    assert result.fees_complete


def test_a_short_stopped_out_loses_the_distance_and_both_fees() -> None:
    # Sold 0.5 at 1,800; bought back at 1,850 by the stop. Gross: -0.5 x 50 = -25; fees 0.45 + 0.4625.
    fills = [
        Fill("entry", D("0.5"), D("1800"), D("0.45"), "USDT"),
        Fill("stop_loss", D("0.5"), D("1850"), D("0.4625"), "USDT"),
    ]
    result = plan_result(side="sell", base="ETH", quote="USDT", fills=fills)
    assert result.gross_pnl == D("-25")
    assert result.realised_pnl == D("-25.9125")


def test_an_open_plan_has_fees_but_no_realised_pnl_yet() -> None:
    result = plan_result(side="buy", base="BTC", quote="USDT", fills=[Fill("entry", D("1"), D("100"), D("0.1"), "")])
    assert result.fees == D("0.1")
    assert result.gross_pnl is None and result.realised_pnl is None


def test_fees_in_the_base_are_priced_at_their_fill_and_third_currencies_are_flagged() -> None:
    # A spot buy of 0.01 BTC at 30,000 charged 0.00001 BTC = 0.3 USDT; the exit's fee came in BNB.
    fills = [
        Fill("entry", D("0.01"), D("30000"), D("0.00001"), "BTC"),
        Fill("exit", D("0.01"), D("31000"), D("0.002"), "BNB"),
    ]
    result = plan_result(side="buy", base="BTC", quote="USDT", fills=fills)
    assert result.fees == D("0.3")
    assert result.realised_pnl == D("9.7")  # 0.01 x 1,000 - 0.3
    assert not result.fees_complete


def test_a_completed_plan_shows_its_realised_pnl_on_the_pages_and_in_full_in_the_api(
    operator, completed_plan: TradePlan
) -> None:
    plan, client = completed_plan, client_for(operator)

    # The reference, from the stored fills: one entry, one take-profit, each with its own fee.
    entry = Execution.objects.get(plan=plan, leg="entry")
    target = Execution.objects.get(plan=plan, leg="take_profit")
    assert entry.filled == target.filled == plan.quantity
    fees = entry.fee + target.fee
    realised = (target.average_price - entry.average_price) * entry.filled - fees
    assert fees > 0 and realised > 0

    detail = client.get(url("plan_detail", plan)).content.decode()
    assert f'<span class="plan-pnl">{realised:,.2f}</span>' in detail
    assert f"fees {fees:,.2f}" in detail
    listing = client.get(reverse("trade:plan_list")).content.decode()
    assert f'<span class="plan-pnl">{realised:,.2f}</span>' in listing

    body = client.get(f"/api/v1/trade/plans/{plan.pk}").json()
    assert D(body["result"]["realised_pnl"]) == realised  # not rounded to cents
    assert D(body["result"]["fees"]) == fees
    assert body["executions"][0]["fee"] == format(entry.fee.normalize(), "f")
