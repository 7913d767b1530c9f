"""What-if on a rules trader's real decisions: the recorded inputs through a risk profile as it is
today, beside the original; nothing is sent or stored; an old decision without a snapshot is named."""

from __future__ import annotations

from decimal import ROUND_DOWN
from decimal import Decimal as D

import pytest

from apps.audit.models import DecisionLog
from apps.core.errors import ServiceValidationError
from apps.traders.models import Execution, PlanEvent, TradePlan
from apps.traders.whatif import decision_what_if
from tests.audit.helpers import DecisionFactory
from tests.factories import RiskProfileFactory

pytestmark = pytest.mark.django_db


def stored() -> tuple[int, int, int, int]:
    models = (TradePlan, Execution, PlanEvent, DecisionLog)
    return tuple(model.objects.count() for model in models)  # type: ignore[return-value]


def test_the_same_profile_gives_the_same_verdict_and_nothing_is_sent_or_stored(round_trip) -> None:
    entry = DecisionLog.objects.get(action="enter_long")
    before = stored()

    result = decision_what_if(decision_id=entry.pk, risk_profile_id=round_trip.risk_profile_id)

    assert stored() == before
    assert result.original.risk == entry.risk_report
    assert result.what_if.risk["decision"] == entry.risk_report["decision"] == "approved"
    # Independent reference: the stored plan's approved quantity.
    assert D(result.what_if.risk["quantity"]) == entry.plan.quantity
    assert result.what_if.request == result.original.request
    assert D(result.original.request["quantity"]) == entry.plan.requested_quantity
    assert not [row for row in result.rules if row["changed"] and row["rule"] != "free_margin"]


def test_a_stricter_profile_today_scales_the_order_down(round_trip) -> None:
    entry = DecisionLog.objects.get(action="enter_long")
    strict = RiskProfileFactory(
        name="strict", max_order_notional=D(500), symbol_cooldown_seconds=0, risk_per_trade=D("0.1")
    )

    result = decision_what_if(decision_id=entry.pk, risk_profile_id=strict.pk)

    assert result.risk_profile == "strict"
    assert result.what_if.risk["decision"] == "scaled_down"
    # Independent reference: 500 USDT at the plan's entry price, down to the market's 0.001 step.
    entry_price = entry.plan.reference_price
    expected = (D(500) / entry_price).quantize(D("0.001"), rounding=ROUND_DOWN)
    assert D(result.what_if.risk["quantity"]) == expected < entry.plan.quantity
    changed = [row["rule"] for row in result.rules if row["changed"]]
    assert "max_order_notional" in changed
    original, what_if = next(row["sides"] for row in result.rules if row["rule"] == "max_order_notional")
    assert (original["verdict"], what_if["verdict"]) == ("pass", "scaled")
    assert any("free margin" in line for line in result.assumptions)


def test_a_hold_puts_nothing_to_the_gate(round_trip) -> None:
    hold = DecisionLog.objects.filter(outcome="held").first()
    result = decision_what_if(decision_id=hold.pk, risk_profile_id=round_trip.risk_profile_id)
    assert (result.what_if.action, result.what_if.risk, result.what_if.request) == ("hold", None, None)
    assert "nothing is put to the risk gate" in result.what_if.reason


def test_a_decision_without_a_snapshot_is_named_and_nothing_runs(db) -> None:
    old = DecisionFactory(inputs={"price": "20000"})
    with pytest.raises(ServiceValidationError, match=rf"decision {old.pk} was recorded without values or equity"):
        decision_what_if(decision_id=old.pk, risk_profile_id=old.trader.risk_profile_id)


def test_bad_choices_are_named(round_trip) -> None:
    entry = DecisionLog.objects.get(action="enter_long")
    profile = round_trip.risk_profile_id
    with pytest.raises(ServiceValidationError, match="no decision with id 999999"):
        decision_what_if(decision_id=999999, risk_profile_id=profile)
    with pytest.raises(ServiceValidationError, match="no risk profile with id 999999"):
        decision_what_if(decision_id=entry.pk, risk_profile_id=999999)
    with pytest.raises(ServiceValidationError, match="decided by rules: only an AI decision is re-asked"):
        decision_what_if(decision_id=entry.pk, risk_profile_id=profile, model_config_id=1)
