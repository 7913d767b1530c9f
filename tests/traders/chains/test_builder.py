"""The chain builder on a real paper round trip: every step from the candle to the PnL, in causal
order, from a fixed number of queries; a date range of chains, oldest first."""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_EVEN
from decimal import Decimal as D

import pytest
from django.utils import timezone

from apps.audit.models import DecisionLog
from apps.exchanges.adapters.paper_engine import BPS, DEFAULT_SLIPPAGE_BPS, TAKER_FEE_RATE
from apps.traders import chains
from apps.traders.models import Execution, TradePlan
from tests.audit.helpers import DecisionFactory
from tests.factories import TraderFactory
from tests.traders.conftest import trade_plan_for

pytestmark = pytest.mark.django_db


def kinds(chain: chains.Chain) -> list[str]:
    return [step.kind for step in chain.steps]


def test_a_filled_plan_shows_every_step_from_candle_to_pnl_in_order(round_trip) -> None:
    plan = TradePlan.objects.get()
    chain = chains.chain_get(kind="plan", chain_id=plan.pk)

    order = kinds(chain)
    assert order[:6] == ["candle", "indicators", "signal", "decision", "plan", "risk"]
    assert order[-1] == "pnl"
    # The entry's order comes before its fill, the exit decision before the exit's order and fill.
    entry, exit_ = (Execution.objects.get(plan=plan, leg=leg) for leg in ("entry", "exit"))
    positions = {
        (step.kind, step.data.get("id") or step.data.get("execution_id")): index
        for index, step in enumerate(chain.steps)
    }
    exit_decision = DecisionLog.objects.get(action="exit")
    assert positions[("order", entry.pk)] < positions[("fill", entry.pk)] < positions[("decision", exit_decision.pk)]
    assert positions[("decision", exit_decision.pk)] < positions[("order", exit_.pk)] < positions[("fill", exit_.pk)]
    timed = [step.at for step in chain.steps[3:-1] if step.at is not None]
    assert timed == sorted(timed)

    candle = chain.steps[0].data
    # BARS[1] is flat at 18,900: the candle the entry decided on.
    assert (candle["close"], candle["timeframe"]) == (18900.0, "1h")
    assert "rsi_2" in chain.steps[1].data["values"]
    decision = chain.steps[3].data
    assert (decision["action"], decision["outcome"], decision["mode"]) == ("enter_long", "traded", "rules")
    assert chain.steps[5].data["decision"] == "approved"

    # Independent reference: the paper fills at the close moved by the slippage, both legs pay the
    # taker fee on their notional.
    slip = DEFAULT_SLIPPAGE_BPS / BPS
    rate = TAKER_FEE_RATE["binanceusdm"]
    quantity = plan.quantity
    bought, sold = D(18900) * (1 + slip), D(21500) * (1 - slip)
    expected = (sold - bought) * quantity - (bought + sold) * quantity * rate
    pnl = chain.steps[-1].data
    assert D(pnl["realised_pnl"]).quantize(D("0.01"), ROUND_HALF_EVEN) == expected.quantize(D("0.01"))
    assert pnl["status"] == "completed"
    assert D(pnl["decision_log_realised_pnl"]) == expected.quantize(D("0.01"))
    assert chain.steps[-1].title.startswith(f"PnL: realised {expected.quantize(D('0.01'))} USDT")


def test_a_decision_that_made_a_plan_shows_its_plans_chain(round_trip) -> None:
    entry = DecisionLog.objects.get(action="enter_long")
    by_decision = chains.chain_get(kind="decision", chain_id=entry.pk)
    by_plan = chains.chain_get(kind="plan", chain_id=entry.plan_id)

    assert (by_decision.kind, by_decision.id, by_decision.entry_decision) == ("decision", entry.pk, entry)
    assert [step.as_dict() for step in by_decision.steps] == [step.as_dict() for step in by_plan.steps]


def test_a_hold_is_a_chain_of_its_own_without_risk_or_orders(round_trip) -> None:
    hold = DecisionLog.objects.filter(outcome="held").order_by("candle_open_time").first()
    chain = chains.chain_get(kind="decision", chain_id=hold.pk)

    assert kinds(chain) == ["candle", "indicators", "signal", "decision"]
    assert chain.steps[2].title == "No signal on this candle"
    assert chain.plan is None


def test_an_operators_plan_has_no_decision_steps(db) -> None:
    plan = trade_plan_for(TraderFactory())
    chain = chains.chain_get(kind="plan", chain_id=plan.pk)
    assert kinds(chain) == ["plan", "pnl"]
    assert chain.entry_decision is None
    assert chain.steps[-1].title == "PnL: none realised yet (plan previewed)"


def test_an_unknown_plan_decision_or_kind_is_named(db) -> None:
    for kind, message in (("plan", "no plan with id 999"), ("decision", "no decision with id 999"), ("trade", "kind")):
        with pytest.raises(chains.ChainNotFound, match=message):
            chains.chain_get(kind=kind, chain_id=999)


def test_a_chain_is_built_from_a_fixed_number_of_queries(round_trip, django_assert_max_num_queries) -> None:
    plan = TradePlan.objects.get()
    with django_assert_max_num_queries(6):
        chains.chain_get(kind="plan", chain_id=plan.pk)
    refs = [(kind, chain_id) for kind, chain_id, _at in chains.chain_refs()]
    with django_assert_max_num_queries(6):
        built = chains.chains_for(refs)
    assert len(built) == len(refs) == 4  # the plan, and the three holds


def test_a_range_selects_plans_by_creation_and_planless_decisions_by_decision_time(round_trip) -> None:
    plan = TradePlan.objects.get()
    holds = list(DecisionLog.objects.filter(plan__isnull=True).order_by("decided_at"))
    everything = [(kind, chain_id) for kind, chain_id, _at in chains.chain_refs()]
    assert everything[0] == ("decision", holds[-1].pk)  # newest first
    assert set(everything) == {("plan", plan.pk), *(("decision", hold.pk) for hold in holds)}

    start, end = holds[1].decided_at, holds[2].decided_at
    inside = [(chain.kind, chain.id) for chain in chains.chain_stream(start=start, end=end, batch=1)]
    assert inside == [("decision", holds[1].pk)] + ([("plan", plan.pk)] if start <= plan.created_at < end else [])
    assert list(chains.chain_stream(start=end + timedelta(days=1), end=end + timedelta(days=2))) == []


def test_the_stream_builds_in_batches_in_time_order(db, monkeypatch) -> None:
    now = timezone.now()
    made = [DecisionFactory(decided_at=now - timedelta(minutes=minutes)) for minutes in (5, 3, 1)]
    built, build = [], chains.chains_for

    def counted(refs):
        refs = list(refs)
        built.append(len(refs))
        return build(refs)

    monkeypatch.setattr(chains, "chains_for", counted)
    streamed = list(chains.chain_stream(start=now - timedelta(hours=1), end=now, batch=2))
    assert [chain.id for chain in streamed] == [decision.pk for decision in made]
    assert built == [2, 1]  # never more than a batch of chains in memory
