"""`manage.py orders` and `positions` on a testnet account: real test orders placed, listed and cancelled
on the exchange emulator through the real ccxt client. What the exchange holds is read from the emulator."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.exchanges.emulator.testing import make_ccxt_client
from apps.exchanges.models import ExchangeAccount
from apps.traders.models import TradePlan, Trader
from apps.traders.services import kill_switch_engage
from tests.traders.cli.conftest import SYMBOL, TESTNET
from tests.traders.cli.helpers import refused, run

pytestmark = pytest.mark.django_db

PLACE = ("orders", "place", "--account", TESTNET, "--symbol", SYMBOL, "--yes")


def test_a_resting_limit_order_is_placed_listed_and_cancelled_on_the_exchange(admin_user, testnet) -> None:
    run(*PLACE, "--side", "buy", "--type", "limit", "--price", "27000", "--amount", "0.01", "--sl", "26000")
    plan = TradePlan.objects.get()
    [entry] = testnet.open_orders()
    assert (entry.client_id, entry.price, entry.qty) == (f"to-{plan.pk}-en1", Decimal(27000), Decimal("0.01"))

    listed = run("orders", "list", "--account", TESTNET, "--open").out.splitlines()
    assert len(listed) == 2 and listed[1].split()[1:9] == [
        f"to-{plan.pk}-en1",
        SYMBOL,
        "buy",
        "limit",
        "open",
        "0.01",
        "0",
        "27000",
    ]
    [order] = run("orders", "list", "--account", TESTNET, "--open", "--json").json()
    assert order["id"] == str(entry.id) and Decimal(order["price"]) == Decimal(27000)

    done = run("orders", "cancel", "--account", TESTNET, "--client-id", f"to-{plan.pk}-en1")
    assert f"cancel requested through trade plan {plan.pk}" in done.out
    assert testnet.open_orders() == []
    assert TradePlan.objects.get().status == TradePlan.Status.CANCELLED
    assert "No open orders" in run("orders", "list", "--account", TESTNET, "--open").out


def test_a_market_order_opens_a_position_with_its_protection(admin_user, testnet) -> None:
    run(*PLACE, "--side", "buy", "--amount", "0.01", "--sl", "27000", "--tp", "29000")
    triggers = sorted((o.type.value, o.trigger_price) for o in testnet.open_orders())
    assert triggers == [("STOP_MARKET", Decimal(27000)), ("TAKE_PROFIT_MARKET", Decimal(29000))]
    held = testnet.emu.engine.positions[SYMBOL]
    row = run("positions", "--account", TESTNET).out.splitlines()[1].split()
    assert row[:4] == [SYMBOL, "long", "0.01", f"{held.entry_price.normalize():f}"]
    [position] = run("positions", "--account", TESTNET, "--json").json()
    assert Decimal(position["amount"]) == held.qty == Decimal("0.01")


def test_an_order_not_of_a_plan_is_cancelled_on_the_exchange(admin_user, testnet, caplog) -> None:
    """An order placed outside TradeOps (here straight through ccxt) goes through the account page's cancel."""
    client = make_ccxt_client(testnet.emu)
    placed = client.create_order(SYMBOL, "limit", "sell", 0.01, 30000, {"newClientOrderId": "manual-1"})
    done = run("orders", "cancel", "--account", TESTNET, "--all", "--symbol", SYMBOL, "--json").json()
    assert done == [{"id": placed["id"], "client_order_id": "manual-1", "symbol": SYMBOL, "result": "cancelled"}]
    assert testnet.open_orders() == []
    # No plan's timeline holds it: the log says who cancelled it.
    assert f"Order {placed['id']} (manual-1) on {TESTNET} cancelled by {admin_user.username}" in caplog.text


def test_refusals_send_nothing_to_the_exchange(admin_user, viewer, testnet) -> None:
    refused(
        *PLACE, "--side", "buy", "--amount", "0.01", "--sl", "27000", "--leverage", "20", match="risk gate rejected"
    )
    refused(*PLACE, "--side", "buy", "--amount", "0.01", "--user", viewer.username, match="needs the operator role")
    kill_switch_engage(user=admin_user, reason="exchange incident")
    refused(*PLACE, "--side", "buy", "--amount", "0.01", "--sl", "27000", match="trading halted: global")
    assert testnet.emu.orders() == []


def test_a_live_order_needs_every_safeguard_and_the_typed_account_name(admin_user, testnet, settings) -> None:
    ExchangeAccount.objects.filter(pk=testnet.account.pk).update(mode=ExchangeAccount.Mode.LIVE)
    live = ("orders", "place", "--account", TESTNET, "--symbol", SYMBOL, "--side", "buy", "--amount", "0.01")
    settings.LIVE_TRADING_ENABLED = False
    refused(*live, "--sl", "27000", "--confirm", TESTNET, match="live trading is switched off")
    settings.LIVE_TRADING_ENABLED = True
    refused(*live, "--sl", "27000", "--confirm", TESTNET, match="trader Testnet desk is not allowed to trade live")
    Trader.objects.filter(pk=testnet.trader.pk).update(live=True)
    refused(*live, "--yes", match="no stop loss: live plans always need one")  # a live plan always needs a stop-loss
    refused(*live, "--sl", "27000", "--yes", match="--confirm: type the account name 'Binance testnet'")
    refused(*live, "--sl", "27000", "--confirm", "binance testnet", match="--confirm: type the account name")
    assert testnet.emu.orders() == []  # nothing of it reached the exchange
    run(*live, "--sl", "27000", "--confirm", TESTNET)
    plan = TradePlan.objects.get(status=TradePlan.Status.PROTECTION_PLACED)
    assert plan.live and [o.client_id for o in testnet.emu.orders()][0] == f"to-{plan.pk}-en1"
