"""Four-eyes approval (issue 15): what waits for a second admin, approving, rejecting, cancelling, stale requests.

The expected diffs are written out by hand from the values each test sets (the reference)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.core.pending import pending_of
from apps.exchanges.models import ExchangeAccount
from apps.exchanges.services import exchange_account_create, exchange_account_update
from apps.traders import services
from apps.traders.models import Alert, ChangeRequest, HaltEvent, KillSwitch, Trader, TraderRiskState
from apps.traders.services.approvals import (
    change_request_approve,
    change_request_cancel,
    change_request_reject,
)
from apps.traders.services.errors import TradeConflict, TradeRefused
from tests.factories import ExchangeAccountFactory, RiskProfileFactory, TraderFactory, UserFactory
from tests.traders.approval_helpers import approve_pending

pytestmark = pytest.mark.django_db
Status, Kind = ChangeRequest.Status, ChangeRequest.Kind


def only_pending(row) -> ChangeRequest:
    [request] = pending_of(row)
    assert request.status == Status.PENDING
    return request


# --- each kind waits -----------------------------------------------------------------------------


def test_trader_going_live_waits_and_applies_once_another_admin_approves(alice, bob):
    account = ExchangeAccountFactory(name="Live desk", mode="live")
    trader = TraderFactory(name="Desk", account=account)
    saved = services.trader_update(trader=trader, changes={"live": True, "sizing_pct": Decimal(2)}, user=alice)
    request = only_pending(saved)
    trader.refresh_from_db()
    assert trader.live is False, "going live must wait"
    assert trader.sizing_pct == Decimal(2), "the rest of the edit applies at once"
    assert (request.kind, request.target_type, request.target_id, request.requested_by) == (
        Kind.TRADER_LIVE,
        "trader",
        trader.pk,
        alice,
    )
    assert request.diff() == [{"field": "live", "before": "no", "after": "yes"}]
    alert = Alert.objects.get(kind=Alert.Kind.APPROVAL_REQUESTED)
    assert f"#{request.pk}" in alert.message and "alice" in alert.message

    decided = change_request_approve(change_request=request, user=bob, reason="checked the keys")
    alert.refresh_from_db()
    assert alert.acknowledged_at is not None and alert.message.endswith("(approved by bob)")
    trader.refresh_from_db()
    assert decided.status == Status.APPROVED and trader.live is True
    assert (decided.decided_by, decided.reason) == (bob, "checked the keys")
    assert decided.decided_at is not None and "live no → yes" in decided.result
    record = trader.history.first()
    assert record.history_user == bob and f"change request #{request.pk}" in record.history_change_reason


def test_creating_a_live_trader_stores_it_off_with_a_request(alice, bob):
    account = ExchangeAccountFactory(name="Live desk", mode="live")
    trader = services.trader_create(
        name="New", account=account, risk_profile=RiskProfileFactory(), live=True, user=alice
    )
    assert Trader.objects.get(pk=trader.pk).live is False
    request = only_pending(trader)
    change_request_approve(change_request=request, user=bob)
    assert Trader.objects.get(pk=trader.pk).live is True


def test_account_going_live_waits(alice, bob):
    account = ExchangeAccountFactory(name="Desk", mode="testnet")
    saved = exchange_account_update(
        account=account,
        changes={"mode": "live", "margin_mode": "cross"},
        secrets={"api_key": "k" * 16, "api_secret": "s" * 16},
        user=alice,
    )
    request = only_pending(saved)
    account.refresh_from_db()
    assert (account.mode, account.margin_mode) == ("testnet", "cross")
    assert request.diff() == [{"field": "mode", "before": "testnet", "after": "live"}]
    change_request_approve(change_request=request, user=bob)
    account.refresh_from_db()
    assert account.mode == "live"
    assert account.history.first().history_user == bob


def test_creating_a_live_account_stores_it_on_testnet_with_a_request(alice, bob):
    account = exchange_account_create(
        name="Real",
        exchange="binanceusdm",
        mode="live",
        secrets={"api_key": "k" * 16, "api_secret": "s" * 16},
        user=alice,
    )
    assert ExchangeAccount.objects.get(pk=account.pk).mode == "testnet"
    change_request_approve(change_request=only_pending(account), user=bob)
    assert ExchangeAccount.objects.get(pk=account.pk).mode == "live"


def test_raising_a_limit_waits_and_lowering_applies_at_once(alice, bob):
    profile = RiskProfileFactory(name="Std")  # 5x, 5,000 per order, 3 % daily loss
    saved = services.risk_profile_update(
        profile=profile,
        changes={"max_leverage": 10, "max_order_notional": Decimal(4000), "require_stop_loss": False},
        user=alice,
    )
    request = only_pending(saved)
    profile.refresh_from_db()
    assert (profile.max_leverage, profile.max_order_notional, profile.require_stop_loss) == (5, Decimal(4000), True)
    assert request.diff() == [
        {"field": "max_leverage", "before": "5", "after": "10"},
        {"field": "require_stop_loss", "before": "yes", "after": "no"},
    ]
    change_request_approve(change_request=request, user=bob)
    profile.refresh_from_db()
    assert (profile.max_leverage, profile.require_stop_loss) == (10, False)


@pytest.mark.parametrize(
    ("field", "before", "after", "loosens"),
    [
        ("max_leverage", 5, 6, True),
        ("max_leverage", 5, 4, False),
        ("daily_loss_limit", Decimal("0.03"), Decimal("0.05"), True),
        ("symbol_cooldown_seconds", 300, 60, True),
        ("symbol_cooldown_seconds", 300, 600, False),
        ("min_order_notional", Decimal(10), Decimal(5), True),
        ("max_symbol_notional", Decimal(1000), None, True),
        ("max_symbol_notional", None, Decimal(1000), False),
        ("reset_daily_halt_next_day", False, True, True),
        ("require_stop_loss", False, True, False),
    ],
)
def test_which_direction_loosens(field, before, after, loosens):
    from apps.traders.services.four_eyes import limit_loosened

    assert limit_loosened(field, before, after) is loosens


def test_moving_a_trader_to_a_looser_profile_waits_a_stricter_one_does_not(alice, bob):
    trader = TraderFactory(name="Desk", risk_profile=RiskProfileFactory(name="Std"))
    strict = RiskProfileFactory(name="Strict", max_leverage=2)
    loose = RiskProfileFactory(name="Loose", max_leverage=20)
    services.trader_update(trader=trader, changes={"risk_profile": strict.pk}, user=alice)
    trader.refresh_from_db()
    assert trader.risk_profile == strict
    request = only_pending(services.trader_update(trader=trader, changes={"risk_profile": loose.pk}, user=alice))
    trader.refresh_from_db()
    assert trader.risk_profile == strict and request.kind == Kind.RISK_RAISE
    assert request.diff() == [{"field": "risk_profile", "before": "Strict", "after": "Loose"}]


def test_a_live_traders_model_prompt_and_mode_wait_a_paper_traders_do_not(alice, bob, live_trader):
    from apps.ai.services import model_config_create

    model = model_config_create(name="small", provider="llama_cpp", model="smollm2-135m")
    paper = TraderFactory(name="Paper")
    services.trader_update(trader=paper, changes={"decision_mode": "ai", "ai_model_config": model.pk}, user=alice)
    assert Trader.objects.get(pk=paper.pk).decision_mode == "ai"
    saved = services.trader_update(
        trader=live_trader, changes={"decision_mode": "ai", "ai_model_config": model.pk}, user=alice
    )
    request = only_pending(saved)
    assert request.kind == Kind.TRADER_AI
    assert Trader.objects.get(pk=live_trader.pk).decision_mode == "rules"
    change_request_approve(change_request=request, user=bob)
    live_trader.refresh_from_db()
    assert (live_trader.decision_mode, live_trader.ai_model_config) == ("ai", model)


def test_releasing_the_kill_switch_waits_engaging_does_not(alice, bob):
    switch = services.kill_switch_engage(user=alice, reason="exchange outage")
    assert switch.engaged and not pending_of(switch)
    request = only_pending(services.kill_switch_release(user=alice, reason="exchange back"))
    assert KillSwitch.objects.get().engaged is True
    assert request.note == "exchange back" and request.target_name == "global kill switch"
    change_request_approve(change_request=request, user=bob)
    switch = KillSwitch.objects.get()
    assert switch.engaged is False and switch.changed_by == bob
    reset = HaltEvent.objects.filter(trader=None, action="reset").get()
    assert reset.actor == bob and "exchange back" in reset.reason and f"#{request.pk}" in reset.reason


def test_a_live_traders_halt_reset_waits_a_paper_traders_does_not(alice, bob, live_trader):
    paper = TraderFactory(name="Paper")
    services.trader_halt(trader=paper, reason="look", user=alice)
    services.trader_halt_reset(trader=paper, reason="fine", user=alice)
    assert TraderRiskState.objects.get(trader=paper).halt == ""
    services.trader_halt(trader=live_trader, reason="look", user=alice)
    request = only_pending(services.trader_halt_reset(trader=live_trader, reason="fine", user=alice))
    assert TraderRiskState.objects.get(trader=live_trader).halt == "operator"
    change_request_approve(change_request=request, user=bob)
    assert TraderRiskState.objects.get(trader=live_trader).halt == ""


# --- who decides ---------------------------------------------------------------------------------


def test_the_requester_cannot_approve_or_reject_but_can_cancel(alice, live_trader):
    TraderRiskState.objects.all().delete()
    services.kill_switch_engage(user=alice, reason="halt")
    request = only_pending(services.kill_switch_release(user=alice, reason="go"))
    with pytest.raises(TradeRefused, match="second admin"):
        change_request_approve(change_request=request, user=alice)
    with pytest.raises(TradeRefused, match="second admin"):
        change_request_reject(change_request=request, user=alice, reason="no")
    assert ChangeRequest.objects.get(pk=request.pk).status == Status.PENDING
    cancelled = change_request_cancel(change_request=request, user=alice)
    assert cancelled.status == Status.CANCELLED and KillSwitch.objects.get().engaged


def test_an_operator_cannot_approve(alice):
    services.kill_switch_engage(user=alice, reason="halt")
    request = only_pending(services.kill_switch_release(user=alice, reason="go"))
    with pytest.raises(TradeRefused, match="only an admin"):
        change_request_approve(change_request=request, user=UserFactory(role="operator"))


def test_rejection_is_recorded_and_nothing_changes(alice, bob):
    services.kill_switch_engage(user=alice, reason="halt")
    request = only_pending(services.kill_switch_release(user=alice, reason="go"))
    with pytest.raises(Exception, match="reason"):
        change_request_reject(change_request=request, user=bob, reason=" ")
    rejected = change_request_reject(change_request=request, user=bob, reason="the exchange is still down")
    assert (rejected.status, rejected.decided_by, rejected.reason) == (
        Status.REJECTED,
        bob,
        "the exchange is still down",
    )
    assert KillSwitch.objects.get().engaged is True
    record = rejected.history.first()
    assert record.history_user == bob and record.status == Status.REJECTED
    with pytest.raises(TradeConflict, match="already rejected"):
        change_request_approve(change_request=request, user=bob)


def test_a_newer_request_supersedes_the_pending_one(alice, bob):
    profile = RiskProfileFactory(name="Std")
    first = only_pending(services.risk_profile_update(profile=profile, changes={"max_leverage": 8}, user=alice))
    second = only_pending(services.risk_profile_update(profile=profile, changes={"max_leverage": 9}, user=bob))
    first.refresh_from_db()
    assert first.status == Status.SUPERSEDED
    assert ChangeRequest.objects.filter(status=Status.PENDING).get() == second


def test_one_pending_request_per_target_and_kind_is_a_database_rule(alice):
    from django.db import IntegrityError, transaction

    profile = RiskProfileFactory(name="Std")
    request = only_pending(services.risk_profile_update(profile=profile, changes={"max_leverage": 8}, user=alice))
    with pytest.raises(IntegrityError), transaction.atomic():
        ChangeRequest.objects.create(
            kind=request.kind, target_type=request.target_type, target_id=profile.pk, target_name="x", changes={}
        )


# --- stale requests ------------------------------------------------------------------------------


def test_a_request_whose_target_changed_fails_and_applies_nothing(alice, bob):
    profile = RiskProfileFactory(name="Std")
    request = only_pending(
        services.risk_profile_update(
            profile=profile, changes={"max_leverage": 10, "daily_loss_limit": Decimal("0.05")}, user=alice
        )
    )
    services.risk_profile_update(profile=profile, changes={"max_leverage": 3}, user=alice)  # lowering: at once
    decided = change_request_approve(change_request=request, user=bob)
    profile.refresh_from_db()
    assert decided.status == Status.FAILED
    assert "max_leverage is now 3, not 5" in decided.result
    assert (profile.max_leverage, profile.daily_loss_limit) == (3, Decimal("0.03")), "nothing half applied"


def test_a_request_the_service_now_refuses_fails_cleanly(alice, bob):
    account = ExchangeAccountFactory(name="Live desk", mode="live")
    trader = TraderFactory(name="Desk", account=account)
    request = only_pending(services.trader_update(trader=trader, changes={"live": True}, user=alice))
    ExchangeAccount.objects.filter(pk=account.pk).update(mode="paper", price_source="replay")
    decided = change_request_approve(change_request=request, user=bob)
    assert decided.status == Status.FAILED and "only a live account's trader can trade live" in decided.result
    assert Trader.objects.get(pk=trader.pk).live is False


def test_a_kill_switch_released_and_engaged_again_since_the_request_fails(alice, bob):
    services.kill_switch_engage(user=alice, reason="first halt")
    request = only_pending(services.kill_switch_release(user=alice, reason="go"))
    KillSwitch.objects.update(changed_at="2030-01-01T00:00:00Z")  # engaged again meanwhile
    decided = change_request_approve(change_request=request, user=bob)
    assert decided.status == Status.FAILED and "changed_at" in decided.result
    assert KillSwitch.objects.get().engaged


def test_the_test_helper_approves_as_another_admin(alice):
    services.kill_switch_engage(user=alice, reason="halt")
    services.kill_switch_release(user=alice, reason="go")
    approve_pending()
    assert KillSwitch.objects.get().engaged is False


def test_a_new_text_for_a_live_ai_traders_template_waits_a_rename_does_not(alice, bob, live_trader):
    from apps.ai.services import model_config_create
    from apps.traders.services.prompts import prompt_template_create, prompt_template_update

    template = prompt_template_create(name="terse", system="Trade $symbol.", user="Price $price.")
    model = model_config_create(name="small", provider="llama_cpp", model="smollm2-135m")
    Trader.objects.filter(pk=live_trader.pk).update(decision_mode="ai", ai_model_config=model, prompt_template=template)
    saved = prompt_template_update(
        template=template, changes={"system": "Buy $symbol now.", "description": "short"}, user=alice
    )
    request = only_pending(saved)
    template.refresh_from_db()
    assert (template.system, template.description, template.version) == ("Trade $symbol.", "short", 1)
    assert request.diff() == [{"field": "system", "before": "Trade $symbol.", "after": "Buy $symbol now."}]
    change_request_approve(change_request=request, user=bob)
    template.refresh_from_db()
    assert (template.system, template.version) == ("Buy $symbol now.", 2)
    unused = prompt_template_create(name="other", system="s $symbol", user="u $price")
    assert not pending_of(prompt_template_update(template=unused, changes={"system": "t $symbol"}, user=alice))
