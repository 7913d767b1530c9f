"""`manage.py orders place|cancel|list` and `positions` on a paper account: the ticket's path (preview,
risk gate, confirmation, execute), acting as a named user, refusals that change nothing."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings

from apps.exchanges.models import PaperOrder
from apps.market.models import Market
from apps.traders.management.commands import orders
from apps.traders.models import TradePlan
from apps.traders.services import kill_switch_engage
from tests.factories import UserFactory
from tests.traders.cli.helpers import refused, run
from tests.traders.trading.test_api import setup_paper_trader

pytestmark = pytest.mark.django_db

SYMBOL = "BTC/USDT:USDT"
ACCOUNT = "Paper desk account"
PLACE = ("orders", "place", "--account", ACCOUNT, "--symbol", SYMBOL)
# The paper exchange fills a market buy at the newest close (20,000) plus its 2 bps slippage.
FILL = Decimal(20000) * (1 + Decimal("0.0002"))


@pytest.fixture
def paper(db):
    return setup_paper_trader()


def test_place_previews_sends_and_lists_the_orders_at_the_tick(admin_user, paper) -> None:
    placed = run(*PLACE, "--side", "buy", "--amount", "0.1", "--sl", "19500", "--tp", "21000", "--yes")
    plan = TradePlan.objects.get()
    assert plan.created_by == admin_user  # --user defaults to the only admin, recorded on the plan
    assert plan.status == TradePlan.Status.PROTECTION_PLACED, plan.status_reason
    assert f"Preview {plan.pk}: buy 0.1 {SYMBOL} at market on {ACCOUNT} (paper) through trader Paper desk" in placed.out
    assert "Risk gate: approved" in placed.out and "market_minimums" in placed.out
    assert f"Plan {plan.pk} executed" in placed.out

    listed = run("orders", "list", "--account", ACCOUNT, "--open").out.splitlines()
    assert listed[0].split()[:3] == ["id", "client", "id"]
    protective = {line.split()[4]: line.split() for line in listed[1:]}  # by type
    assert set(protective) == {"stop_loss", "take_profit"}
    assert protective["stop_loss"][9] == "19500" and protective["take_profit"][9] == "21000"  # trigger, at the tick

    position = run("positions", "--account", ACCOUNT).out.splitlines()[1].split()
    assert position[:4] == [SYMBOL, "long", "0.1", str(FILL.normalize())]


def test_json_output_is_the_apis_plan_and_the_orders(admin_user, paper) -> None:
    body = run(*PLACE, "--side", "buy", "--sl", "19500", "--tp", "21000", "--yes", "--json").json()
    plan = TradePlan.objects.get()
    # As the API's execute answers it: the plan when handed to the worker, which then sends its orders.
    assert body["id"] == plan.pk and body["status"] == "pending"
    assert plan.status == TradePlan.Status.PROTECTION_PLACED
    assert body["risk_report"]["decision"] == plan.risk_report["decision"]
    # Sized by the risk profile: 1 % of 10,000 risked over the 500 stop distance.
    assert Decimal(body["quantity"]) == Decimal("0.2") and body["created_by"] == admin_user.username
    orders = run("orders", "list", "--account", ACCOUNT, "--json").json()
    assert {order["client_order_id"] for order in orders} == set(
        plan.executions.values_list("client_order_id", flat=True)
    )
    positions = run("positions", "--account", ACCOUNT, "--json").json()
    assert [(p["symbol"], Decimal(p["amount"])) for p in positions] == [(SYMBOL, Decimal("0.2"))]


def test_a_resting_limit_entry_is_cancelled_through_its_plan(admin_user, paper) -> None:
    run(*PLACE, "--side", "buy", "--type", "limit", "--price", "19000", "--amount", "0.1", "--sl", "18500", "--yes")
    plan = TradePlan.objects.get()
    assert plan.status == TradePlan.Status.ENTRY_SUBMITTED
    resting = PaperOrder.objects.get(status=PaperOrder.Status.OPEN)
    listed = run("orders", "list", "--account", ACCOUNT, "--open").out
    assert f"to-{plan.pk}-en1" in listed and "19000" in listed

    done = run("orders", "cancel", "--account", ACCOUNT, "--id", str(resting.pk))
    assert f"cancel requested through trade plan {plan.pk}" in done.out
    plan.refresh_from_db()
    resting.refresh_from_db()
    assert plan.status == TradePlan.Status.CANCELLED and resting.status == PaperOrder.Status.CANCELED
    assert plan.events.filter(actor=admin_user).exists()  # the timeline says who
    assert "No open orders" in run("orders", "list", "--account", ACCOUNT, "--open").out


def test_an_open_plans_stop_loss_is_not_cancelled_behind_its_back(admin_user, paper) -> None:
    run(*PLACE, "--side", "buy", "--sl", "19500", "--yes")
    plan = TradePlan.objects.get()
    refused(
        "orders", "cancel", "--account", ACCOUNT, "--client-id", f"to-{plan.pk}-sl1", match="cancel or close the plan"
    )
    assert PaperOrder.objects.filter(status=PaperOrder.Status.OPEN).count() == 1


def test_the_risk_gate_refuses_an_amount_below_the_minimum_and_names_it(admin_user, paper) -> None:
    Market.objects.filter(symbol=SYMBOL).update(min_amount=Decimal("0.01"))  # step 0.001
    refused(
        *PLACE,
        "--side",
        "buy",
        "--amount",
        "0.005",
        "--sl",
        "19500",
        "--yes",
        match="0.005 is below the market minimum 0.01",
    )
    assert TradePlan.objects.get().status == TradePlan.Status.REJECTED  # the record, as from the ticket
    assert not PaperOrder.objects.exists()


def test_the_kill_switch_blocks_orders_place(admin_user, paper) -> None:
    kill_switch_engage(user=admin_user, reason="desk drill")
    refused(
        *PLACE,
        "--side",
        "buy",
        "--amount",
        "0.1",
        "--sl",
        "19500",
        "--yes",
        match="risk gate rejected: trading halted: global",
    )
    assert not PaperOrder.objects.exists()


def test_a_viewer_is_refused_and_nothing_is_stored(admin_user, viewer, paper) -> None:
    refused(
        *PLACE, "--side", "buy", "--amount", "0.1", "--yes", "--user", viewer.username, match="needs the operator role"
    )
    refused(
        "orders",
        "cancel",
        "--account",
        ACCOUNT,
        "--all",
        "--symbol",
        SYMBOL,
        "--user",
        viewer.username,
        match="operator",
    )
    assert not TradePlan.objects.exists()
    assert "No orders" in run("orders", "list", "--account", ACCOUNT, "--user", viewer.username).out  # viewers read


def test_without_a_terminal_or_yes_nothing_is_sent(admin_user, paper) -> None:
    refused(*PLACE, "--side", "buy", "--amount", "0.1", "--sl", "19500", match="pass --yes")
    assert TradePlan.objects.get().status == TradePlan.Status.CANCELLED
    assert not PaperOrder.objects.exists()


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("--account", "Nope"), f"no exchange account named 'Nope' \\(known: {ACCOUNT}\\)"),
        (("--account", ACCOUNT, "--symbol", "DOGE/USDT:USDT"), "--symbol: binanceusdm has no market 'DOGE/USDT:USDT'"),
        (("--account", ACCOUNT, "--sl", "20500"), "--sl: a buy plan's stop-loss must be below the entry 20000"),
    ],
)
def test_errors_name_what_was_wrong_and_change_nothing(admin_user, paper, args, reason) -> None:
    options = dict(zip(("--account", "--symbol"), (ACCOUNT, SYMBOL), strict=True)) | dict(
        zip(args[::2], args[1::2], strict=True)
    )
    flat = [item for pair in options.items() for item in pair]
    refused("orders", "place", *flat, "--side", "buy", "--amount", "0.1", "--yes", match=reason)
    assert not TradePlan.objects.exists()


def test_the_acting_user_must_be_named_among_several_admins(admin_user, paper) -> None:
    UserFactory(username="second-admin", role="admin")
    refused(*PLACE, "--side", "buy", "--yes", match="name the user to act as with --user: there are 2 admins")
    refused(*PLACE, "--side", "buy", "--yes", "--user", "ghost", match="no active user named 'ghost'")
    assert not TradePlan.objects.exists()


def test_bad_arguments_exit_2() -> None:
    """argparse's own exit code, from a real process (before any database access)."""
    result = subprocess.run(
        [sys.executable, "manage.py", "orders", "place", "--account", "x", "--symbol", SYMBOL, "--side", "long"],
        cwd=Path(settings.BASE_DIR),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "argument --side: invalid choice: 'long'" in result.stderr


def test_on_a_terminal_it_asks_and_a_no_sends_nothing(admin_user, paper, monkeypatch) -> None:
    asked = []
    monkeypatch.setattr(orders, "sys", SimpleNamespace(stdin=SimpleNamespace(isatty=lambda: True)))
    monkeypatch.setattr("builtins.input", lambda prompt: asked.append(prompt) or "n")
    refused(*PLACE, "--side", "buy", "--amount", "0.1", "--sl", "19500", match="not sent \\(not confirmed\\)")
    assert asked == ["Send this order? [y/N] "]
    assert TradePlan.objects.get().status == TradePlan.Status.CANCELLED and not PaperOrder.objects.exists()


def test_a_user_without_a_role_is_refused(admin_user, outsider, paper) -> None:
    refused("orders", "list", "--account", ACCOUNT, "--user", outsider.username, match="has no role yet")
