"""`manage.py traders list|start|stop|status` and `trader_run`: the traders page's buttons and the worker's
cycle from a terminal, as a named user, with the live safeguards."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest

from apps.audit.models import DecisionLog
from apps.exchanges.models import ExchangeAccount
from apps.traders.management.commands import trader_run
from apps.traders.models import TradePlan, Trader
from tests.exchanges.paper.helpers import release
from tests.traders.cli.helpers import refused, run
from tests.traders.cycles.test_cycle_flow import running_trader

pytestmark = pytest.mark.django_db


@pytest.fixture
def stopped_trader(operator):
    trader, feed = running_trader(operator)
    Trader.objects.filter(pk=trader.pk).update(status=Trader.Status.STOPPED)
    return trader, feed


def test_start_status_stop_and_list(admin_user, stopped_trader) -> None:
    trader, _feed = stopped_trader
    started = run("traders", "start", "dip buyer")
    assert "Trader dip buyer: running (started by" in started.out
    assert Trader.objects.get().history.first().history_user == admin_user  # who, in the trader's history
    refused("traders", "start", "dip buyer", match="trader dip buyer is already running")
    status = run("traders", "status", "dip buyer", "--json").json()
    assert (status["name"], status["status"], status["open_positions"]) == ("dip buyer", "running", 0)
    listed = run("traders", "list").out.splitlines()
    assert listed[0].split()[:3] == ["name", "account", "status"] and "dip buyer" in listed[1]
    [api_like] = run("traders", "list", "--json").json()
    assert (api_like["id"], api_like["status"], api_like["market_symbols"]) == (trader.pk, "running", ["BTC/USDT:USDT"])
    assert "stopped" in run("traders", "stop", "dip buyer").out
    refused("traders", "stop", "dip buyer", match="already stopped")


def test_a_viewer_reads_but_may_not_start(admin_user, viewer, stopped_trader) -> None:
    refused("traders", "start", "dip buyer", "--user", viewer.username, match="needs the operator role")
    refused("trader_run", "dip buyer", "--cycles", "1", "--user", viewer.username, match="needs the operator role")
    assert Trader.objects.get().status == Trader.Status.STOPPED
    assert "stopped" in run("traders", "status", "dip buyer", "--user", viewer.username).out
    refused("traders", "status", "nobody", match="no trader named 'nobody' \\(known: dip buyer\\)")


def test_a_live_traders_start_needs_every_safeguard(admin_user, stopped_trader, settings) -> None:
    trader, _feed = stopped_trader
    ExchangeAccount.objects.filter(pk=trader.account_id).update(mode=ExchangeAccount.Mode.LIVE, price_source="live")
    settings.LIVE_TRADING_ENABLED = False
    refused("traders", "start", "dip buyer", match="live trading is switched off")
    refused("trader_run", "dip buyer", "--cycles", "1", match="live trading is switched off")
    settings.LIVE_TRADING_ENABLED = True
    Trader.objects.filter(pk=trader.pk).update(live=True)
    refused("traders", "start", "dip buyer", match="--confirm: type the account name 'paper'")
    assert Trader.objects.get().status == Trader.Status.STOPPED
    assert "running" in run("traders", "start", "dip buyer", "--confirm", "paper").out


def test_trader_run_prints_each_decision_as_the_dry_run_and_stops_the_trader_again(
    admin_user, stopped_trader, monkeypatch
) -> None:
    trader, feed = stopped_trader
    bars = iter(range(1, 10))
    # Between cycles a new candle is released, as the replay feed does each minute.
    monkeypatch.setattr(trader_run, "time", SimpleNamespace(sleep=lambda seconds: release(feed, next(bars))))
    ran = run("trader_run", "dip buyer", "--cycles", "3", "--every", "0")
    plan = TradePlan.objects.get()
    lines = ran.out.splitlines()
    assert lines[0] == "Running trader dip buyer (paper); Ctrl-C stops."
    assert lines[1].split() == ["market", "time", "price", "sentiment", "signal", "decision", "outcome", "reason"]
    rows = [line.split() for line in lines[2:5]]
    assert [row[3] for row in rows] == ["20000", "18900", "20000"]  # each candle's close at the 0.1 tick
    assert [row[6] for row in rows] == ["hold", "enter_long", "hold"]
    assert rows[1][7:10] == ["traded:", "plan", str(plan.pk)]
    assert lines[5] == "Stopped trader dip buyer again (it was started for this run)."
    assert Trader.objects.get().status == Trader.Status.STOPPED
    assert DecisionLog.objects.count() == 3 and plan.created_by is None and plan.source == "trader"
    assert Decimal(plan.quantity) == Decimal("0.052")


def test_trader_run_json_prints_one_object_a_decision(admin_user, stopped_trader) -> None:
    ran = run("trader_run", "dip buyer", "--cycles", "1", "--json")
    [decision] = ran.json_lines()
    assert (decision["market"], decision["price"], decision["decision"], decision["outcome"]) == (
        "BTC/USDT:USDT",
        "20000",
        "hold",
        "held",
    )
    assert "Running trader dip buyer" in ran.err
