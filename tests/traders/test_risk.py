"""The risk gate as a risk officer would check it: every limit at, just below and just above its
value, sizing against hand-computed numbers, caps that combine, and loss halts over a losing
streak. Pure module: no database."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from apps.traders.risk import (
    RULES,
    AccountSnapshot,
    Decision,
    EquityState,
    HaltKind,
    MarketLimits,
    OpenPosition,
    PlanRequest,
    RiskLimits,
    RiskManager,
    RiskReport,
    RuleCheck,
    Verdict,
    equity_update,
    halt_reset,
)

D = Decimal
SYMBOL = "BTC/USDT:USDT"
NOW_MS = 1_700_000_000_000
PASS, SCALED, FAIL = Verdict.PASS, Verdict.SCALED, Verdict.FAIL


# --- builders: a generous baseline where every rule passes, so each test moves one limit ------


def make_limits(**overrides: Any) -> RiskLimits:
    values: dict[str, Any] = {
        "max_leverage": 10,
        "max_order_notional": D(100_000),
        "max_total_notional": D(1_000_000),
        "max_open_positions": 5,
        "symbol_cooldown_seconds": 60,
        "risk_per_trade": D("0.01"),
        "min_order_notional": D(10),
        "max_symbol_notional": None,
        "max_asset_notional": None,
        "require_stop_loss": True,
        "daily_loss_limit": D("0.03"),
        "max_drawdown": D("0.10"),
        "reset_daily_halt_next_day": True,
    }
    return RiskLimits(**{**values, **overrides})


def make_account(**overrides: Any) -> AccountSnapshot:
    values: dict[str, Any] = {
        "equity": D(10_000),
        "free_margin": D(10_000),
        "positions": (),
        "last_entry_ms": {},
        "now_ms": NOW_MS,
    }
    return AccountSnapshot(**{**values, **overrides})


def make_market(**overrides: Any) -> MarketLimits:
    values: dict[str, Any] = {
        "symbol": SYMBOL,
        "base": "BTC",
        "step": D("0.001"),
        "min_amount": D("0.001"),
        "min_notional": D(5),
        "max_leverage": 20,
        "is_spot": False,
    }
    return MarketLimits(**{**values, **overrides})


def make_plan(**overrides: Any) -> PlanRequest:
    # 0.1 BTC at 50,000 = 5,000 USDT; a stop 1,000 away risks 100 USDT = 1 % of 10,000 equity.
    values: dict[str, Any] = {
        "symbol": SYMBOL,
        "side": "buy",
        "entry_price": D(50_000),
        "stop_loss": D(49_000),
        "take_profit": D(52_000),
        "leverage": 5,
        "quantity": D("0.1"),
        "live": False,
    }
    return PlanRequest(**{**values, **overrides})


def evaluate(
    *,
    plan: PlanRequest | None = None,
    account: AccountSnapshot | None = None,
    market: MarketLimits | None = None,
    halt: HaltKind | None = None,
    **limit_overrides: Any,
) -> RiskReport:
    manager = RiskManager(make_limits(**limit_overrides))
    return manager.evaluate(plan or make_plan(), account or make_account(), market or make_market(), halt=halt)


def check(report: RiskReport, rule: str) -> RuleCheck:
    (found,) = [item for item in report.checks if item.rule == rule]
    return found


def position(symbol: str, base: str, notional: str) -> OpenPosition:
    return OpenPosition(symbol=symbol, base=base, notional=D(notional))


# --- the report ------------------------------------------------------------------------------


def test_the_readme_documents_every_rule_in_the_order_evaluated() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    table = readme.split("### The risk gate", 1)[1].split("**Halts.**", 1)[0]
    assert tuple(re.findall(r"^\| `(\w+)` \|", table, flags=re.MULTILINE)) == RULES


REPORT_CASES: dict[str, dict[str, Any]] = {
    "approved": {},
    "scaled": {"max_order_notional": D(4_000)},
    "rejected": {"min_order_notional": D(6_000)},
    "halted": {"halt": HaltKind.GLOBAL},
    "unsized": {"plan": make_plan(stop_loss=None, quantity=None), "require_stop_loss": False},
}


@pytest.mark.parametrize("case", REPORT_CASES.values(), ids=REPORT_CASES.keys())
def test_every_rule_is_reported_once_in_order(case: dict[str, Any]) -> None:
    report = evaluate(**case)
    assert tuple(item.rule for item in report.checks) == RULES
    assert all(item.value and item.limit and item.message for item in report.checks)


@pytest.mark.parametrize("case", REPORT_CASES.values(), ids=REPORT_CASES.keys())
def test_report_round_trips_through_json(case: dict[str, Any]) -> None:
    report = evaluate(**case)
    data = report.as_dict()
    assert RiskReport.from_dict(data) == report
    assert RiskReport.from_dict(json.loads(json.dumps(data))) == report
    assert RiskReport.from_dict(data).as_dict() == data
    assert isinstance(data["quantity"], str)
    assert data["checks"][0] == {
        "rule": "kill_switch",
        "value": report.checks[0].value,
        "limit": "not halted",
        "verdict": report.checks[0].verdict.value,
        "message": report.checks[0].message,
    }


def test_decision_follows_the_worst_verdict() -> None:
    approved = evaluate()
    assert (approved.decision, approved.approved, approved.quantity) == (Decision.APPROVED, True, D("0.1"))
    assert approved.failures() == ()

    scaled = evaluate(max_order_notional=D(4_000))
    assert (scaled.decision, scaled.approved, scaled.quantity) == (Decision.SCALED_DOWN, True, D("0.08"))

    rejected = evaluate(max_order_notional=D(4_000), min_order_notional=D(4_500))
    assert (rejected.decision, rejected.approved, rejected.quantity) == (Decision.REJECTED, False, D(0))
    assert [item.rule for item in rejected.failures()] == ["min_order_notional"]
    assert rejected.requested_quantity == D("0.1")


# --- kill switch and stop loss -----------------------------------------------------------------


@pytest.mark.parametrize("halt", list(HaltKind))
def test_a_halt_blocks_new_entries_but_the_report_stays_complete(halt: HaltKind) -> None:
    report = evaluate(halt=halt)
    assert report.decision == Decision.REJECTED
    assert report.quantity == D(0)
    assert report.failures() == (check(report, "kill_switch"),)
    assert check(report, "kill_switch").message == f"trading halted: {halt.value}"
    # The later rules were still evaluated on the plan's quantity, for the operator to read.
    assert check(report, "risk_per_trade").value == "0.1 (risk 100.00 USDT)"


def test_live_plans_need_a_stop_loss_even_when_the_profile_does_not_require_one() -> None:
    report = evaluate(plan=make_plan(stop_loss=None, live=True), require_stop_loss=False)
    stop_check = check(report, "stop_loss_required")
    assert stop_check.verdict == FAIL
    assert "live" in stop_check.message
    assert report.decision == Decision.REJECTED


def test_paper_plans_need_a_stop_loss_when_the_profile_requires_one() -> None:
    report = evaluate(plan=make_plan(stop_loss=None), require_stop_loss=True)
    assert check(report, "stop_loss_required").verdict == FAIL
    assert report.decision == Decision.REJECTED


def test_a_paper_plan_without_a_stop_is_allowed_but_not_sized() -> None:
    report = evaluate(plan=make_plan(stop_loss=None), require_stop_loss=False)
    assert check(report, "stop_loss_required").verdict == PASS
    assert check(report, "risk_per_trade").verdict == PASS
    assert check(report, "risk_per_trade").message == "no stop: risk unbounded, not sized"
    assert (report.decision, report.quantity) == (Decision.APPROVED, D("0.1"))


def test_without_a_stop_or_a_quantity_nothing_can_be_sized() -> None:
    report = evaluate(plan=make_plan(stop_loss=None, quantity=None), require_stop_loss=False)
    assert check(report, "risk_per_trade").verdict == FAIL
    assert report.decision == Decision.REJECTED
    quantity_rules = {"max_order_notional", "max_symbol_notional", "max_asset_notional", "max_total_notional"}
    quantity_rules |= {"free_margin", "min_order_notional", "market_minimums"}
    for rule in quantity_rules:
        assert check(report, rule).verdict == PASS
        assert check(report, rule).message == "not evaluated: no quantity"
    # Rules that do not depend on the quantity are still evaluated.
    assert check(report, "max_open_positions").message != "not evaluated: no quantity"


@pytest.mark.parametrize(
    ("overrides", "verdict"),
    [
        ({"side": "buy", "stop_loss": D(49_000), "take_profit": D(52_000)}, PASS),
        ({"side": "sell", "stop_loss": D(51_000), "take_profit": D(48_000)}, PASS),
        ({"side": "buy", "stop_loss": D(51_000)}, FAIL),
        ({"side": "buy", "stop_loss": D(50_000)}, FAIL),
        ({"side": "sell", "stop_loss": D(49_000), "take_profit": D(48_000)}, FAIL),
        ({"side": "buy", "take_profit": D(49_500)}, FAIL),
        ({"side": "sell", "stop_loss": D(51_000), "take_profit": D(50_500)}, FAIL),
        ({"side": "buy", "stop_loss": D(-1)}, FAIL),
        ({"side": "buy", "stop_loss": None, "take_profit": None}, PASS),
        ({"side": "long"}, FAIL),
        ({"entry_price": D(0)}, FAIL),
    ],
)
def test_protective_prices_must_be_on_the_right_side(overrides: dict[str, Any], verdict: Verdict) -> None:
    report = evaluate(plan=make_plan(**overrides), require_stop_loss=False)
    assert check(report, "stop_loss_side").verdict == verdict
    if verdict == FAIL:
        assert report.decision == Decision.REJECTED


# --- leverage ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("leverage", "market_max", "is_spot", "verdict"),
    [
        (9, 20, False, PASS),  # below the profile's 10x
        (10, 20, False, PASS),  # at the profile's limit
        (11, 20, False, FAIL),  # above the profile's limit
        (9, 9, False, PASS),  # at the market's maximum
        (9, 8, False, FAIL),  # above the market's maximum
        (10, None, False, PASS),  # the market publishes no maximum
        (0, 20, False, FAIL),
        (1, None, True, PASS),  # spot: 1x only
        (2, None, True, FAIL),
    ],
)
def test_leverage_limits(leverage: int, market_max: int | None, is_spot: bool, verdict: Verdict) -> None:
    report = evaluate(
        plan=make_plan(leverage=leverage),
        market=make_market(max_leverage=market_max, is_spot=is_spot),
        max_leverage=10,
    )
    assert check(report, "leverage").verdict == verdict
    assert check(report, "leverage").value == f"{leverage}x"


# --- sizing ----------------------------------------------------------------------------------


def test_fixed_fraction_sizing_matches_the_hand_computation() -> None:
    # equity 10,000 x risk 1 % = 100 USDT at risk; entry 50,000 - stop 49,000 = 1,000 USDT per BTC;
    # 100 / 1,000 = 0.1 BTC.
    report = evaluate(plan=make_plan(quantity=None))
    assert report.quantity == D("0.1")
    assert report.decision == Decision.APPROVED
    assert check(report, "risk_per_trade").verdict == PASS
    assert check(report, "risk_per_trade").limit == "100.00 USDT (1% of equity 10,000.00 USDT)"


def test_fixed_fraction_sizing_for_a_short() -> None:
    plan = make_plan(side="sell", stop_loss=D(51_000), take_profit=D(48_000), quantity=None)
    assert evaluate(plan=plan).quantity == D("0.1")


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        # 100 / (50,000 - 49,300) = 100 / 700 = 0.142857... BTC, always rounded down.
        (D("0.001"), D("0.142")),
        (D("0.01"), D("0.14")),
        (D("0.1"), D("0.1")),
    ],
)
def test_sized_quantity_rounds_down_to_the_step(step: Decimal, expected: Decimal) -> None:
    report = evaluate(plan=make_plan(stop_loss=D(49_300), quantity=None), market=make_market(step=step))
    assert report.quantity == expected
    assert report.quantity * 700 <= 100


@pytest.mark.parametrize(
    ("quantity", "verdict", "expected"),
    [
        (D("0.1"), PASS, D("0.1")),  # risks exactly the 100 USDT budget
        (D("0.099"), PASS, D("0.099")),
        (D("0.101"), SCALED, D("0.1")),  # risks 101 USDT: scaled back to the budget
    ],
)
def test_risk_per_trade_at_below_above(quantity: Decimal, verdict: Verdict, expected: Decimal) -> None:
    report = evaluate(plan=make_plan(quantity=quantity))
    assert check(report, "risk_per_trade").verdict == verdict
    assert report.quantity == expected


def test_a_requested_quantity_is_rounded_down_to_the_step() -> None:
    report = evaluate(plan=make_plan(quantity=D("0.0999")))
    assert (report.decision, report.quantity) == (Decision.APPROVED, D("0.099"))


@pytest.mark.parametrize("quantity", [D(0), D("-0.1")])
def test_a_non_positive_quantity_is_rejected_not_crashed(quantity: Decimal) -> None:
    report = evaluate(plan=make_plan(quantity=quantity))
    assert check(report, "risk_per_trade").verdict == FAIL
    assert report.decision == Decision.REJECTED


def test_no_equity_means_no_risk_budget() -> None:
    report = evaluate(plan=make_plan(quantity=None), account=make_account(equity=D(0)))
    assert check(report, "risk_per_trade").verdict == FAIL
    assert report.decision == Decision.REJECTED


# --- notional caps -----------------------------------------------------------------------------
# The baseline order is 0.1 BTC x 50,000 = 5,000 USDT.


@pytest.mark.parametrize(
    ("cap", "verdict", "expected"),
    [
        (D(5_000), PASS, D("0.1")),  # at the limit
        (D("5000.01"), PASS, D("0.1")),  # just below it
        (D("4999.99"), SCALED, D("0.099")),  # just above: 4999.99 / 50,000 = 0.0999998 -> 0.099
        (D(0), FAIL, D(0)),  # no room at all
    ],
)
def test_max_order_notional(cap: Decimal, verdict: Verdict, expected: Decimal) -> None:
    report = evaluate(max_order_notional=cap)
    assert check(report, "max_order_notional").verdict == verdict
    assert report.quantity == expected


# 1,000 USDT already open + the 5,000 USDT order = 6,000 USDT.
EXPOSURE_CASES = [
    (D(6_000), PASS, D("0.1")),  # at the limit
    (D("6000.01"), PASS, D("0.1")),  # just below it
    (D("5999.99"), SCALED, D("0.099")),  # just above: headroom 4,999.99 -> 0.099
    (D(1_000), FAIL, D(0)),  # the existing exposure uses the whole limit
    (D(999), FAIL, D(0)),
]


@pytest.mark.parametrize(("cap", "verdict", "expected"), EXPOSURE_CASES)
def test_max_symbol_notional(cap: Decimal, verdict: Verdict, expected: Decimal) -> None:
    positions = (position(SYMBOL, "BTC", "1000"), position("BTC/USDT", "BTC", "3000"))
    report = evaluate(account=make_account(positions=positions), max_symbol_notional=cap)
    assert check(report, "max_symbol_notional").verdict == verdict
    assert report.quantity == expected


@pytest.mark.parametrize(("cap", "verdict", "expected"), EXPOSURE_CASES)
def test_max_asset_notional_sums_spot_and_perp(cap: Decimal, verdict: Verdict, expected: Decimal) -> None:
    # BTC spot counts toward the BTC perp order; ETH does not.
    positions = (position("BTC/USDT", "BTC", "1000"), position("ETH/USDT:USDT", "ETH", "3000"))
    report = evaluate(account=make_account(positions=positions), max_asset_notional=cap)
    assert check(report, "max_asset_notional").verdict == verdict
    assert report.quantity == expected


@pytest.mark.parametrize(("cap", "verdict", "expected"), EXPOSURE_CASES)
def test_max_total_notional(cap: Decimal, verdict: Verdict, expected: Decimal) -> None:
    positions = (position("ETH/USDT:USDT", "ETH", "500"), position("SOL/USDT:USDT", "SOL", "500"))
    report = evaluate(account=make_account(positions=positions), max_total_notional=cap)
    assert check(report, "max_total_notional").verdict == verdict
    assert report.quantity == expected


def test_exposure_does_not_net_opposite_positions() -> None:
    # A short reported with a signed notional still counts in full: a long and a short on
    # correlated markets can both lose.
    positions = (position(SYMBOL, "BTC", "-3000"),)
    report = evaluate(account=make_account(positions=positions), max_symbol_notional=D(7_000))
    assert check(report, "max_symbol_notional").verdict == SCALED
    assert report.quantity == D("0.08")


def test_caps_combine_and_the_smallest_wins() -> None:
    positions = (position(SYMBOL, "BTC", "1000"),)
    caps: dict[str, Any] = {
        "max_order_notional": D(4_500),  # alone: 0.09
        "max_symbol_notional": D(5_000),  # alone: headroom 4,000 -> 0.08
        "max_asset_notional": D(5_200),  # alone: headroom 4,200 -> 0.084
        "max_total_notional": D(5_100),  # alone: headroom 4,100 -> 0.082
    }
    plan = make_plan(quantity=D("0.2"))  # risks 200 USDT: the risk rule alone gives 0.1
    account = make_account(positions=positions)
    alone = [evaluate(plan=plan, account=account, **{name: cap}).quantity for name, cap in caps.items()]
    assert alone == [D("0.09"), D("0.08"), D("0.084"), D("0.082")]

    report = evaluate(plan=plan, account=account, **caps)
    assert report.quantity == min(alone) == D("0.08")
    assert report.decision == Decision.SCALED_DOWN
    verdicts = [check(report, rule).verdict for rule in ["risk_per_trade", *caps]]
    # Each cap sees the quantity the previous ones left: once the symbol cap cut to 0.08, the
    # asset and total caps are already met.
    assert verdicts == [SCALED, SCALED, SCALED, PASS, PASS]


# --- positions and cooldown ------------------------------------------------------------------


TWO_OPEN = (position("ETH/USDT:USDT", "ETH", "500"), position("SOL/USDT:USDT", "SOL", "500"))


@pytest.mark.parametrize(
    ("limit", "verdict"),
    [
        (4, PASS),  # a third position stays below the limit
        (3, PASS),  # a third position reaches it
        (2, FAIL),  # a third position would exceed it
    ],
)
def test_max_open_positions(limit: int, verdict: Verdict) -> None:
    report = evaluate(account=make_account(positions=TWO_OPEN), max_open_positions=limit)
    assert check(report, "max_open_positions").verdict == verdict


def test_adding_to_an_open_symbol_is_not_a_new_position() -> None:
    positions = (*TWO_OPEN, position(SYMBOL, "BTC", "500"))
    report = evaluate(account=make_account(positions=positions), max_open_positions=3)
    assert check(report, "max_open_positions").verdict == PASS


@pytest.mark.parametrize(
    ("elapsed_ms", "verdict"),
    [
        (60_001, PASS),
        (60_000, PASS),  # exactly the cooldown
        (59_999, FAIL),
    ],
)
def test_symbol_cooldown(elapsed_ms: int, verdict: Verdict) -> None:
    account = make_account(last_entry_ms={SYMBOL: NOW_MS - elapsed_ms})
    assert check(evaluate(account=account, symbol_cooldown_seconds=60), "symbol_cooldown").verdict == verdict


def test_symbol_cooldown_names_the_seconds_remaining() -> None:
    account = make_account(last_entry_ms={SYMBOL: NOW_MS - 30_000, "ETH/USDT:USDT": NOW_MS})
    cooldown = check(evaluate(account=account, symbol_cooldown_seconds=60), "symbol_cooldown")
    assert cooldown.verdict == FAIL
    assert "30s of the 60s cooldown remaining" in cooldown.message


def test_an_entry_on_another_symbol_does_not_start_the_cooldown() -> None:
    account = make_account(last_entry_ms={"ETH/USDT:USDT": NOW_MS})
    assert check(evaluate(account=account), "symbol_cooldown").verdict == PASS


# --- margin and minimums -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("free", "verdict", "expected"),
    [
        # required = 5,000 / 5 + 5,000 x 0.0005 = 1,000 + 2.5 = 1,002.5 USDT
        (D("1002.5"), PASS, D("0.1")),
        (D("1002.51"), PASS, D("0.1")),
        (D("1002.49"), SCALED, D("0.099")),
        (D(0), FAIL, D(0)),
        (D(-5), FAIL, D(0)),
    ],
)
def test_free_margin(free: Decimal, verdict: Verdict, expected: Decimal) -> None:
    report = evaluate(account=make_account(free_margin=free))
    assert check(report, "free_margin").verdict == verdict
    assert report.quantity == expected


def test_free_margin_on_spot_covers_the_whole_notional_and_the_fee() -> None:
    market = make_market(symbol="BTC/USDT", is_spot=True, max_leverage=None)
    plan = make_plan(symbol="BTC/USDT", leverage=1)
    # 5,000 + 2.5 fee needed; 5,000 free -> 5,000 / 50,000 / 1.0005 = 0.09995 -> 0.099
    report = evaluate(plan=plan, market=market, account=make_account(free_margin=D(5_000)))
    assert check(report, "free_margin").verdict == SCALED
    assert report.quantity == D("0.099")


@pytest.mark.parametrize(
    ("floor", "verdict"),
    [
        (D("4999.99"), PASS),
        (D(5_000), PASS),  # at the limit
        (D("5000.01"), FAIL),
    ],
)
def test_min_order_notional(floor: Decimal, verdict: Verdict) -> None:
    report = evaluate(min_order_notional=floor)
    assert check(report, "min_order_notional").verdict == verdict
    assert report.quantity == (D("0.1") if verdict == PASS else D(0))


def test_min_order_notional_applies_after_scaling() -> None:
    # The order is scaled to 0.0001 BTC = 5 USDT, below the 10 USDT floor: rejected, not sent tiny.
    report = evaluate(max_order_notional=D(5), market=make_market(step=D("0.0001"), min_amount=D("0.0001")))
    assert check(report, "max_order_notional").verdict == SCALED
    assert check(report, "min_order_notional").verdict == FAIL
    assert report.decision == Decision.REJECTED


@pytest.mark.parametrize(
    ("market_overrides", "verdict"),
    [
        ({"min_amount": D("0.1")}, PASS),
        ({"min_amount": D("0.101")}, FAIL),
        ({"min_notional": D(5_000)}, PASS),
        ({"min_notional": D("5000.01")}, FAIL),
        ({"step": D(0)}, FAIL),
    ],
)
def test_market_minimums(market_overrides: dict[str, Any], verdict: Verdict) -> None:
    report = evaluate(market=make_market(**market_overrides))
    assert check(report, "market_minimums").verdict == verdict


def test_a_quantity_that_rounds_to_zero_is_rejected() -> None:
    report = evaluate(plan=make_plan(quantity=D("0.0009")), min_order_notional=D(0))
    assert check(report, "market_minimums").verdict == FAIL
    assert report.decision == Decision.REJECTED


# --- input checks ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {"max_leverage": 0},
        {"max_order_notional": D(-1)},
        {"max_symbol_notional": D(-1)},
        {"risk_per_trade": D(0)},
        {"risk_per_trade": D("1.5")},
        {"daily_loss_limit": D(0)},
        {"max_drawdown": D(0)},
        {"risk_per_trade": 0.01},  # a float: money is Decimal
        {"max_open_positions": -1},
    ],
)
def test_nonsensical_limits_fail_loudly(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        make_limits(**overrides)


def test_a_plan_for_another_market_is_a_caller_error() -> None:
    with pytest.raises(ValueError, match="does not match"):
        evaluate(plan=make_plan(symbol="ETH/USDT:USDT"))


# --- property: scaling never increases, every cap holds when approved ----------------------------


SYMBOLS = {SYMBOL: "BTC", "BTC/USDT": "BTC", "ETH/USDT:USDT": "ETH"}

Scenario = tuple[RiskLimits, PlanRequest, AccountSnapshot, MarketLimits]


@st.composite
def scenarios(draw: st.DrawFn, *, plausible: bool) -> Scenario:
    """Random limits, plans, accounts and markets.

    plausible=False draws anything (bad leverage, no stop, spot shorts...), so nearly every case is
    rejected: it guards the invariants that hold whatever the input. plausible=True keeps the plan
    well-formed so most cases reach the caps and get approved or scaled, which is where the
    "every cap holds" property has something to check.
    """
    step = draw(st.sampled_from([D("0.00001"), D("0.001"), D("0.1")] + ([] if plausible else [D(1)])))
    entry = draw(st.decimals(min_value=D("0.1"), max_value=D(100_000), places=2))
    side = draw(st.sampled_from(["buy", "sell"]))
    offset = draw(st.decimals(min_value=D("0.01"), max_value=entry / 2, places=2))
    stop = entry - offset if side == "buy" else entry + offset
    # Plausible caps leave room for an order; anything-goes caps may be zero.
    caps = st.decimals(min_value=D(1_000) if plausible else D(0), max_value=D(500_000), places=2)
    max_leverage = draw(st.integers(1, 50))
    is_spot = draw(st.booleans())
    if plausible:
        leverage = 1 if is_spot else draw(st.integers(1, max_leverage))
        market_max = draw(st.none() | st.integers(leverage, 100))
    else:
        stop = draw(st.none() | st.just(stop))
        leverage = draw(st.integers(0, 60))
        market_max = draw(st.none() | st.integers(1, 100))
    limits = make_limits(
        max_leverage=max_leverage,
        max_order_notional=draw(caps),
        max_total_notional=draw(caps),
        max_open_positions=draw(st.integers(1 if plausible else 0, 5)),
        symbol_cooldown_seconds=draw(st.sampled_from([0, 60])),
        risk_per_trade=draw(st.decimals(min_value=D("0.001"), max_value=D("0.1"), places=3)),
        min_order_notional=draw(st.decimals(min_value=D(0), max_value=D(50), places=2)),
        max_symbol_notional=draw(st.none() | caps),
        max_asset_notional=draw(st.none() | caps),
        require_stop_loss=draw(st.booleans()),
    )
    plan = make_plan(
        side=side,
        entry_price=entry,
        stop_loss=stop,
        take_profit=None,
        leverage=leverage,
        quantity=draw(st.none() | st.decimals(min_value=step, max_value=D(1_000), places=5)),
        live=draw(st.booleans()),
        fee_rate=draw(st.sampled_from([D(0), D("0.0002"), D("0.0005"), D("0.001")])),
    )
    positions = draw(
        st.lists(
            st.builds(
                lambda symbol, notional: OpenPosition(symbol=symbol, base=SYMBOLS[symbol], notional=notional),
                st.sampled_from(sorted(SYMBOLS)),
                st.decimals(min_value=D(0), max_value=D(5_000) if plausible else D(50_000), places=2),
            ),
            max_size=2 if plausible else 4,
        )
    )
    # A plausible entry is past the 60 s cooldown; otherwise it may fall inside it.
    entries = [{}, {SYMBOL: NOW_MS - 90_000}] + ([] if plausible else [{SYMBOL: NOW_MS - 30_000}])
    account = make_account(
        equity=draw(st.decimals(min_value=D(1), max_value=D(1_000_000), places=2)),
        free_margin=draw(st.decimals(min_value=D(100) if plausible else D(-100), max_value=D(1_000_000), places=2)),
        positions=tuple(positions),
        last_entry_ms=draw(st.sampled_from(entries)),
    )
    market = make_market(
        step=step,
        min_amount=step * draw(st.integers(1, 5)),
        min_notional=draw(st.decimals(min_value=D(0), max_value=D(20), places=2)),
        max_leverage=market_max,
        is_spot=is_spot,
    )
    return limits, plan, account, market


def exposure(account: AccountSnapshot, keep: Any) -> Decimal:
    return sum((abs(item.notional) for item in account.positions if keep(item)), D(0))


def assert_within_every_limit(
    limits: RiskLimits, plan: PlanRequest, account: AccountSnapshot, market: MarketLimits, quantity: Decimal
) -> None:
    notional = quantity * plan.entry_price
    assert quantity > 0
    assert quantity % market.step == 0
    if plan.stop_loss is not None:
        assert quantity * abs(plan.entry_price - plan.stop_loss) <= account.equity * limits.risk_per_trade
    assert notional <= limits.max_order_notional
    if limits.max_symbol_notional is not None:
        assert exposure(account, lambda item: item.symbol == plan.symbol) + notional <= limits.max_symbol_notional
    if limits.max_asset_notional is not None:
        assert exposure(account, lambda item: item.base == market.base) + notional <= limits.max_asset_notional
    assert exposure(account, lambda item: True) + notional <= limits.max_total_notional
    assert 1 <= plan.leverage <= limits.max_leverage
    # margin + fee <= free, multiplied through by the leverage so the comparison is exact
    assert notional * (1 + plan.fee_rate * plan.leverage) <= account.free_margin * plan.leverage
    assert notional >= limits.min_order_notional
    assert notional >= market.min_notional
    assert quantity >= market.min_amount


def assert_report_invariants(scenario: Scenario) -> RiskReport:
    limits, plan, account, market = scenario
    report = RiskManager(limits).evaluate(plan, account, market)
    event(report.decision.value)
    assert tuple(item.rule for item in report.checks) == RULES
    if plan.quantity is not None:
        assert report.quantity <= plan.quantity
    if not report.approved:
        assert report.quantity == 0
        assert report.failures()
        return report
    assert_within_every_limit(limits, plan, account, market, report.quantity)
    scaled = any(item.verdict == SCALED for item in report.checks)
    assert report.decision == (Decision.SCALED_DOWN if scaled else Decision.APPROVED)
    # The approved quantity is a fixed point: asking for exactly it passes every rule unchanged.
    again = RiskManager(limits).evaluate(replace(plan, quantity=report.quantity), account, market)
    assert (again.decision, again.quantity) == (Decision.APPROVED, report.quantity)
    return report


@settings(max_examples=300)
@given(scenarios(plausible=True))
def test_plausible_plans_never_grow_and_respect_every_cap_when_approved(scenario: Scenario) -> None:
    assert_report_invariants(scenario)


@settings(max_examples=200)
@given(scenarios(plausible=False))
def test_any_plan_gets_a_complete_report_and_never_grows(scenario: Scenario) -> None:
    assert_report_invariants(scenario)


# --- daily loss and drawdown halts -------------------------------------------------------------


DAY_ONE = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def run_equity(
    equities: list[Decimal], *, start: datetime, limits: RiskLimits, state: EquityState | None = None
) -> list[EquityState]:
    """One equity_update per value, ten minutes apart."""
    states: list[EquityState] = []
    for index, equity in enumerate(equities):
        state = equity_update(state, equity=equity, now=start + timedelta(minutes=10 * index), limits=limits)
        states.append(state)
    return states


def test_a_losing_streak_halts_on_the_trade_that_reaches_the_daily_limit() -> None:
    # 10,000 at the day's start, each trade loses 0.5 % of it: -50, -100, ... -300 = 3.00 %.
    equities = [D(10_000) - 50 * trade for trade in range(7)]
    states = run_equity(equities, start=DAY_ONE, limits=make_limits())
    assert [state.halt for state in states[:6]] == [None] * 6  # down to 9,750 (2.5 %)
    assert states[6].halt == HaltKind.DAILY_LOSS  # 9,700: exactly 3.00 %
    assert states[6].halt_reason == (
        "daily loss 300.00 USDT (3.00% of the day's starting equity 10,000.00 USDT) reached the 3.00% limit"
    )


@pytest.mark.parametrize(
    ("equity", "halt"),
    [
        (D("9700.01"), None),  # a cent before the limit
        (D(9_700), HaltKind.DAILY_LOSS),  # at the limit halts
        (D("9699.99"), HaltKind.DAILY_LOSS),
    ],
)
def test_daily_loss_limit_at_below_above(equity: Decimal, halt: HaltKind | None) -> None:
    (_, state) = run_equity([D(10_000), equity], start=DAY_ONE, limits=make_limits())
    assert state.halt == halt
    assert (state.halt_reason == "") == (halt is None)


@pytest.mark.parametrize(
    ("equity", "halt"),
    [
        (D("9000.01"), None),
        (D(9_000), HaltKind.DRAWDOWN),  # 10 % below the 10,000 peak
        (D("8999.99"), HaltKind.DRAWDOWN),
    ],
)
def test_drawdown_at_below_above(equity: Decimal, halt: HaltKind | None) -> None:
    # The day started at 9,100, so the day's loss (about 1 %) stays far from the daily limit.
    state = EquityState(day=DAY_ONE.date(), day_start_equity=D(9_100), peak_equity=D(10_000), halt=None, halt_reason="")
    state = equity_update(state, equity=equity, now=DAY_ONE, limits=make_limits())
    assert state.halt == halt
    if halt is not None:
        assert state.halt_reason == (
            f"drawdown {D(10_000) - equity:,.2f} USDT ({(D(10_000) - equity) / 100:.2f}% of the equity peak "
            "10,000.00 USDT) "
            "reached the 10.00% limit"
        )


def test_a_slow_bleed_over_several_days_halts_on_drawdown_not_daily_loss() -> None:
    # -2 % of the 10,000 peak a day in four trades of -50: never the 3 % daily limit, but the
    # 10 % drawdown on the last trade of the fifth day.
    limits = make_limits()
    state: EquityState | None = None
    equity = D(10_000)
    history: list[tuple[int, int, HaltKind | None]] = []
    for day in range(5):
        morning = DAY_ONE + timedelta(days=day)
        state = equity_update(state, equity=equity, now=morning, limits=limits)
        assert state.day_start_equity == equity
        for trade in range(4):
            equity -= 50
            state = equity_update(state, equity=equity, now=morning + timedelta(hours=trade + 1), limits=limits)
            history.append((day, trade, state.halt))
    assert equity == D(9_000)
    assert [halt for (_, _, halt) in history[:-1]] == [None] * 19
    assert history[-1] == (4, 3, HaltKind.DRAWDOWN)
    assert state is not None and state.peak_equity == D(10_000)


@pytest.mark.parametrize("reset", [True, False])
def test_a_daily_loss_halt_lifts_at_the_next_utc_day_only_when_the_profile_says_so(reset: bool) -> None:
    limits = make_limits(reset_daily_halt_next_day=reset)
    (_, halted) = run_equity([D(10_000), D(9_700)], start=DAY_ONE, limits=limits)
    assert halted.halt == HaltKind.DAILY_LOSS

    later_same_day = equity_update(halted, equity=D(9_700), now=datetime(2024, 3, 1, 23, 59, tzinfo=UTC), limits=limits)
    assert later_same_day.halt == HaltKind.DAILY_LOSS

    next_day = equity_update(halted, equity=D(9_700), now=datetime(2024, 3, 2, 0, 0, tzinfo=UTC), limits=limits)
    assert next_day.day == date(2024, 3, 2)
    assert next_day.day_start_equity == D(9_700)
    if reset:
        assert (next_day.halt, next_day.halt_reason) == (None, "")
    else:
        assert next_day.halt == HaltKind.DAILY_LOSS
        assert next_day.halt_reason == halted.halt_reason


@pytest.mark.parametrize("kind", [HaltKind.DRAWDOWN, HaltKind.OPERATOR, HaltKind.GLOBAL])
def test_other_halts_never_lift_themselves(kind: HaltKind) -> None:
    state = EquityState(
        day=DAY_ONE.date(), day_start_equity=D(10_000), peak_equity=D(10_000), halt=kind, halt_reason="by hand"
    )
    limits = make_limits(reset_daily_halt_next_day=True)
    for days in (1, 2, 30):
        later = equity_update(state, equity=D(10_500), now=DAY_ONE + timedelta(days=days), limits=limits)
        assert (later.halt, later.halt_reason) == (kind, "by hand")


def test_a_lifted_daily_halt_is_replaced_by_a_drawdown_that_still_holds() -> None:
    limits = make_limits(daily_loss_limit=D("0.05"), max_drawdown=D("0.05"))
    state = EquityState(
        day=DAY_ONE.date(), day_start_equity=D(10_000), peak_equity=D(10_000), halt=HaltKind.DAILY_LOSS, halt_reason="x"
    )
    next_day = equity_update(state, equity=D(9_400), now=DAY_ONE + timedelta(days=1), limits=limits)
    assert next_day.halt == HaltKind.DRAWDOWN


def test_the_first_halt_reason_wins() -> None:
    (_, halted, deeper) = run_equity([D(10_000), D(9_700), D(8_000)], start=DAY_ONE, limits=make_limits())
    assert halted.halt == HaltKind.DAILY_LOSS
    assert (deeper.halt, deeper.halt_reason) == (HaltKind.DAILY_LOSS, halted.halt_reason)


def test_halt_reset_clears_the_halt_and_restarts_the_references() -> None:
    limits = make_limits()
    (*_, halted) = run_equity([D(10_000), D(8_900)], start=DAY_ONE, limits=limits)
    assert halted.halt == HaltKind.DRAWDOWN

    reset = halt_reset(halted, equity=D(8_900), now=DAY_ONE + timedelta(hours=1))
    assert reset == EquityState(
        day=DAY_ONE.date(), day_start_equity=D(8_900), peak_equity=D(8_900), halt=None, halt_reason=""
    )
    # The old peak is gone, so the same equity does not halt again at once.
    assert equity_update(reset, equity=D(8_900), now=DAY_ONE + timedelta(hours=2), limits=limits).halt is None


def test_the_first_update_starts_the_utc_day_and_the_peak() -> None:
    # 23:30 in New York (UTC-5) is already the next day in UTC.
    now = datetime(2024, 3, 1, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    state = equity_update(None, equity=D(10_000), now=now, limits=make_limits())
    assert state == EquityState(
        day=date(2024, 3, 2), day_start_equity=D(10_000), peak_equity=D(10_000), halt=None, halt_reason=""
    )
    higher = equity_update(state, equity=D(10_500), now=now, limits=make_limits())
    assert (higher.peak_equity, higher.day_start_equity) == (D(10_500), D(10_000))


def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2024, 3, 1, 9, 0)
    with pytest.raises(ValueError, match="timezone-aware"):
        equity_update(None, equity=D(10_000), now=naive, limits=make_limits())
    state = equity_update(None, equity=D(10_000), now=DAY_ONE, limits=make_limits())
    with pytest.raises(ValueError, match="timezone-aware"):
        halt_reset(state, equity=D(10_000), now=naive)


@settings(max_examples=200)
@given(st.lists(st.decimals(min_value=D(5_000), max_value=D(15_000), places=2), min_size=1, max_size=30))
def test_a_same_day_path_halts_from_the_first_breach_onwards(equities: list[Decimal]) -> None:
    limits = make_limits()
    states = run_equity(equities, start=datetime(2024, 3, 1, 0, 0, tzinfo=UTC), limits=limits)
    start, peak = equities[0], equities[0]
    breached = False
    for equity, state in zip(equities, states, strict=True):
        peak = max(peak, equity)
        breached = breached or start - equity >= start * limits.daily_loss_limit
        breached = breached or peak - equity >= peak * limits.max_drawdown
        assert (state.halt is not None) == breached
        assert state.peak_equity == peak
