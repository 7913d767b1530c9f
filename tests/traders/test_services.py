"""Services of apps.traders: profile and trader validation naming the field, the automatic loss
halts (event + alert exactly once, the daily auto-lift), operator halts and resets, the kill switch."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from apps.core.errors import ServiceValidationError
from apps.core.pending import pending_of
from apps.traders import selectors, services
from apps.traders.models import Alert, HaltEvent, KillSwitch, RiskProfile, Trader, TraderRiskState
from apps.traders.risk import HaltKind
from tests.factories import ExchangeAccountFactory, RiskProfileFactory, TraderFactory
from tests.traders.approval_helpers import approved
from tests.traders.conftest import T0, trade_plan_for

pytestmark = pytest.mark.django_db


def field_of(excinfo: pytest.ExceptionInfo) -> str:
    return excinfo.value.field


# --- risk profiles ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"name": "  "}, "name"),
        ({"max_leverage": 0}, "max_leverage"),
        ({"max_leverage": 126}, "max_leverage"),
        ({"min_order_notional": Decimal(6000)}, "min_order_notional"),
        ({"min_order_notional": Decimal(-1)}, "min_order_notional"),
        ({"max_order_notional": Decimal(0), "min_order_notional": Decimal(0)}, "max_order_notional"),
        ({"max_total_notional": Decimal(4000)}, "max_total_notional"),
        ({"risk_per_trade": Decimal(0)}, "risk_per_trade"),
        ({"risk_per_trade": Decimal("0.11")}, "risk_per_trade"),
        ({"risk_per_trade": Decimal("0.012345")}, "risk_per_trade"),
        ({"daily_loss_limit": Decimal(0)}, "daily_loss_limit"),
        ({"daily_loss_limit": Decimal(1)}, "daily_loss_limit"),
        ({"max_drawdown": Decimal(1)}, "max_drawdown"),
        ({"max_open_positions": 0}, "max_open_positions"),
        ({"max_symbol_notional": Decimal(0)}, "max_symbol_notional"),
        ({"max_order_notional": Decimal("1e30")}, "max_order_notional"),
    ],
)
def test_risk_profile_create_names_the_bad_field_and_stores_nothing(values, field) -> None:
    with pytest.raises(ServiceValidationError) as excinfo:
        services.risk_profile_create(**{"name": "Bad", **values})
    assert field_of(excinfo) == field
    assert not RiskProfile.objects.exists()


def test_risk_profile_create_with_defaults_and_unique_name() -> None:
    profile = services.risk_profile_create(name=" Standard ", risk_per_trade=Decimal("0.02"))
    assert (profile.name, profile.max_leverage, profile.risk_per_trade) == ("Standard", 5, Decimal("0.02000"))
    with pytest.raises(ServiceValidationError) as excinfo:
        services.risk_profile_create(name="Standard")
    assert field_of(excinfo) == "name"


def test_risk_profile_update_validates_against_the_other_stored_values() -> None:
    profile = RiskProfileFactory(max_order_notional=Decimal(1000), max_total_notional=Decimal(2000))
    with pytest.raises(ServiceValidationError) as excinfo:
        services.risk_profile_update(profile=profile, changes={"max_order_notional": Decimal(3000)})
    assert field_of(excinfo) == "max_total_notional"
    with pytest.raises(ServiceValidationError) as excinfo:
        services.risk_profile_update(profile=profile, changes={"created_at": None})
    assert field_of(excinfo) == "created_at"
    updated = approved(services.risk_profile_update(profile=profile, changes={"max_leverage": 10}))
    assert updated.max_leverage == 10


def test_risk_profile_in_use_cannot_be_deleted(trader) -> None:
    with pytest.raises(ServiceValidationError) as excinfo:
        services.risk_profile_delete(profile=trader.risk_profile)
    assert field_of(excinfo) == "risk profile" and excinfo.value.used_by == {"trader": 1}
    unused = RiskProfileFactory()
    services.risk_profile_delete(profile=unused)
    assert not RiskProfile.objects.filter(pk=unused.pk).exists()


# --- traders ---------------------------------------------------------------------------------------


def test_only_a_live_accounts_trader_can_be_live(live_account) -> None:
    profile = RiskProfileFactory()
    paper = ExchangeAccountFactory()
    with pytest.raises(ServiceValidationError) as excinfo:
        services.trader_create(name="P", account=paper, risk_profile=profile, live=True)
    assert field_of(excinfo) == "live" and "only a live account's trader can trade live" in excinfo.value.message
    trader = approved(services.trader_create(name="L", account=live_account.pk, risk_profile=profile.pk, live=True))
    assert trader.live
    with pytest.raises(ServiceValidationError) as excinfo:
        services.trader_update(trader=trader, changes={"account": paper.pk})
    assert field_of(excinfo) == "live"


def test_trader_create_names_unknown_relations_and_duplicate_names(trader) -> None:
    for changes, field in [
        ({"account": 999_999}, "account"),
        ({"risk_profile": 999_999}, "risk_profile"),
        ({"name": "Desk A"}, "name"),
    ]:
        values = {"name": "New", "account": trader.account, "risk_profile": trader.risk_profile, **changes}
        with pytest.raises(ServiceValidationError) as excinfo:
            services.trader_create(**values)
        assert field_of(excinfo) == field
    assert Trader.objects.count() == 1


def test_trader_with_plans_cannot_be_deleted_nor_moved(trader) -> None:
    trade_plan_for(trader)
    with pytest.raises(ServiceValidationError) as excinfo:
        services.trader_delete(trader=trader)
    assert field_of(excinfo) == "trader" and excinfo.value.used_by == {"trade plan": 1}
    other = ExchangeAccountFactory()
    # A previewed plan is not open: moving is allowed; an open one blocks it.
    services.trader_update(trader=trader, changes={"account": other.pk})
    trader.plans.update(status="pending")
    with pytest.raises(ServiceValidationError) as excinfo:
        services.trader_update(trader=trader, changes={"account": ExchangeAccountFactory().pk})
    assert field_of(excinfo) == "account"
    free = TraderFactory()
    services.trader_delete(trader=free)
    assert not Trader.objects.filter(pk=free.pk).exists()


# --- automatic halts -------------------------------------------------------------------------------


def halts(trader) -> list[tuple[str, str]]:
    return list(HaltEvent.objects.filter(trader=trader).order_by("id").values_list("action", "kind"))


def test_daily_loss_halts_once_with_an_event_and_an_alert(trader) -> None:
    services.trader_risk_update(trader=trader, equity=Decimal(1000), now=T0)
    state = services.trader_risk_update(trader=trader, equity=Decimal(975), now=T0 + timedelta(hours=1))
    assert state.halt == "" and halts(trader) == []
    state = services.trader_risk_update(trader=trader, equity=Decimal(970), now=T0 + timedelta(hours=2))
    assert state.halt == HaltKind.DAILY_LOSS
    assert state.halted_at == T0 + timedelta(hours=2)
    assert "daily loss 30.00 USDT" in state.halt_reason
    assert (state.last_equity, state.day_start_equity, state.peak_equity) == (970, 1000, 1000)
    # The same equity again, and a further loss: still one event and one alert.
    services.trader_risk_update(trader=trader, equity=Decimal(970), now=T0 + timedelta(hours=3))
    services.trader_risk_update(trader=trader, equity=Decimal(960), now=T0 + timedelta(hours=4))
    assert halts(trader) == [("halt", "daily_loss")]
    alert = Alert.objects.get(kind=Alert.Kind.TRADER_HALTED)  # beside the daily-loss warning (tests/traders/alerts)
    assert (alert.level, alert.kind, alert.account) == ("critical", "trader_halted", trader.account)
    assert "Desk A" in alert.message and "daily loss" in alert.message
    assert selectors.trader_halt_kind(trader=trader) == HaltKind.DAILY_LOSS


def test_daily_loss_halt_lifts_itself_at_the_next_utc_day(trader) -> None:
    services.trader_risk_update(trader=trader, equity=Decimal(1000), now=T0)
    services.trader_risk_update(trader=trader, equity=Decimal(970), now=T0)
    next_day = T0.replace(hour=0, minute=1) + timedelta(days=1)
    state = services.trader_risk_update(trader=trader, equity=Decimal(965), now=next_day)
    assert (state.halt, state.halted_at, state.day_start_equity) == ("", None, 965)
    assert halts(trader) == [("halt", "daily_loss"), ("reset", "daily_loss")]
    assert HaltEvent.objects.first().reason == services.DAILY_RESET_REASON  # newest first
    assert selectors.trader_halt_kind(trader=trader) is None


def test_daily_loss_halt_waits_for_a_person_when_the_profile_says_so() -> None:
    trader = TraderFactory(risk_profile=RiskProfileFactory(reset_daily_halt_next_day=False))
    services.trader_risk_update(trader=trader, equity=Decimal(1000), now=T0)
    services.trader_risk_update(trader=trader, equity=Decimal(970), now=T0)
    state = services.trader_risk_update(trader=trader, equity=Decimal(970), now=T0 + timedelta(days=1))
    assert state.halt == HaltKind.DAILY_LOSS
    assert halts(trader) == [("halt", "daily_loss")]


def test_drawdown_wins_and_never_lifts_itself(trader) -> None:
    services.trader_risk_update(trader=trader, equity=Decimal(1000), now=T0)
    state = services.trader_risk_update(trader=trader, equity=Decimal(900), now=T0)
    assert state.halt == HaltKind.DRAWDOWN
    state = services.trader_risk_update(trader=trader, equity=Decimal(1000), now=T0 + timedelta(days=2))
    assert state.halt == HaltKind.DRAWDOWN
    assert halts(trader) == [("halt", "drawdown")]


# --- operator halts and resets ---------------------------------------------------------------------


def test_operator_halt_and_reset_record_who_and_why(trader, operator) -> None:
    services.trader_risk_update(trader=trader, equity=Decimal(1000), now=T0)
    with pytest.raises(ServiceValidationError) as excinfo:
        services.trader_halt(trader=trader, reason=" ", user=operator)
    assert field_of(excinfo) == "reason"
    with pytest.raises(ServiceValidationError) as excinfo:
        services.trader_halt_reset(trader=trader, reason="why not", user=operator)
    assert (field_of(excinfo), excinfo.value.message) == ("trader", "is not halted")

    state = services.trader_halt(trader=trader, reason="exchange maintenance", user=operator)
    assert (state.halt, state.halt_reason) == (HaltKind.OPERATOR, "exchange maintenance")
    assert selectors.trader_halt_kind(trader=trader) == HaltKind.OPERATOR
    services.trader_risk_update(trader=trader, equity=Decimal(1100), now=T0 + timedelta(hours=1))
    state = services.trader_halt_reset(trader=trader, reason="maintenance over", user=operator, now=T0)
    assert (state.halt, state.halted_at, state.day_start_equity, state.peak_equity) == ("", None, 1100, 1100)
    events = list(HaltEvent.objects.filter(trader=trader).order_by("id"))
    assert [(e.action, e.kind, e.actor, e.reason) for e in events] == [
        ("halt", "operator", operator, "exchange maintenance"),
        ("reset", "operator", operator, "maintenance over"),
    ]
    assert not Alert.objects.exists()


def test_halting_an_unmeasured_trader_arms_the_limits_at_the_first_measurement(trader, operator) -> None:
    state = services.trader_halt(trader=trader, reason="not ready", user=operator, now=T0)
    assert (state.day, state.last_equity, state.day_start_equity) == (T0.date(), 0, 0)
    state = services.trader_risk_update(trader=trader, equity=Decimal(500), now=T0)
    assert (state.halt, state.day_start_equity, state.peak_equity) == (HaltKind.OPERATOR, 500, 500)


def test_operator_halt_turns_a_self_lifting_daily_halt_into_an_operator_halt(trader, operator) -> None:
    services.trader_risk_update(trader=trader, equity=Decimal(1000), now=T0)
    services.trader_risk_update(trader=trader, equity=Decimal(970), now=T0)
    state = services.trader_halt(trader=trader, reason="look at it first", user=operator)
    assert state.halt == HaltKind.OPERATOR
    state = services.trader_risk_update(trader=trader, equity=Decimal(970), now=T0 + timedelta(days=1))
    assert state.halt == HaltKind.OPERATOR
    # A halt waiting for a person already stays as it is.
    services.trader_halt(trader=trader, reason="again", user=operator)
    assert TraderRiskState.objects.get().halt_reason == "look at it first"


# --- the kill switch -------------------------------------------------------------------------------


def test_kill_switch_needs_a_reason_and_changes_nothing_without_one(operator) -> None:
    for reason in ("", "   "):
        with pytest.raises(ServiceValidationError) as excinfo:
            services.kill_switch_engage(user=operator, reason=reason)
        assert field_of(excinfo) == "reason"
    assert not selectors.kill_switch_get().engaged
    assert not HaltEvent.objects.exists() and not Alert.objects.exists()


def test_kill_switch_engage_and_release_record_who_and_why(trader, operator, admin_user) -> None:
    assert selectors.kill_switch_get().pk == KillSwitch.SINGLETON_PK
    switch = services.kill_switch_engage(user=operator, reason="exchange outage")
    assert (switch.engaged, switch.reason, switch.changed_by) == (True, "exchange outage", operator)
    assert switch.changed_at is not None
    assert selectors.trader_halt_kind(trader=trader) == HaltKind.GLOBAL
    # Engaging again is a no-op that answers the state.
    again = services.kill_switch_engage(user=admin_user, reason="me too")
    assert (again.engaged, again.changed_by, again.reason) == (True, operator, "exchange outage")
    alert = Alert.objects.get(kind="kill_switch")
    assert (alert.level, alert.kind, alert.account) == ("critical", "kill_switch", None)
    assert operator.username in alert.message and "exchange outage" in alert.message

    waiting = services.kill_switch_release(user=operator, reason="outage over")
    assert waiting.engaged  # four-eyes: an admin other than the requester approves
    from apps.traders.services.approvals import change_request_approve

    [request] = pending_of(waiting)
    change_request_approve(change_request=request, user=admin_user)
    switch = KillSwitch.objects.get()
    reason = f"outage over (change request #{request.pk}, approved by {admin_user.username})"
    assert (switch.engaged, switch.changed_by, switch.reason) == (False, admin_user, reason)
    assert selectors.trader_halt_kind(trader=trader) is None
    events = list(HaltEvent.objects.order_by("id").values_list("trader", "action", "kind", "actor", "reason"))
    assert events == [
        (None, "halt", "global", operator.pk, "exchange outage"),
        (None, "reset", "global", admin_user.pk, reason),
    ]
    history = list(KillSwitch.objects.get().history.order_by("history_id"))
    assert [(h.engaged, h.history_user, h.history_change_reason) for h in history] == [
        (False, None, None),
        (True, operator, "exchange outage"),
        (False, admin_user, reason[:100]),
    ]
