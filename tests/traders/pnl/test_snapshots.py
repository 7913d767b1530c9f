"""Equity snapshots: on every fill (checked against the paper exchange's own wallet), by the schedule, as
`equity` events, and read back as a downsampled series with drawdown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.core.models import Event
from apps.exchanges.models import PaperAccountState
from apps.exchanges.tasks import process_paper_orders
from apps.traders.models import EquitySnapshot, TradePlan
from apps.traders.pnl_selectors import equity_series
from apps.traders.services.pnl import equity_snapshot_take
from apps.traders.tasks import take_equity_snapshots
from tests.exchanges.paper.helpers import release
from tests.factories import ExchangeAccountFactory, TraderFactory
from tests.traders.trading.test_api import EXECUTE, _preview, client_for, post, setup_paper_trader

pytestmark = pytest.mark.django_db
D = Decimal


def test_every_fill_snapshots_trader_and_account_matching_the_paper_wallet(
    operator, django_capture_on_commit_callbacks
) -> None:
    """The reference is the paper exchange's own books (PaperAccountState): its realised PnL, fees and cash
    are kept by apps.exchanges.adapters.paper, not by the PnL code."""
    trader, feed = setup_paper_trader()
    client = client_for(operator)
    plan_id = _preview(client, trader)["id"]
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, EXECUTE, {"plan_id": plan_id}).status_code == 200
    entry = EquitySnapshot.objects.filter(source="fill").order_by("id")
    assert [(s.trader_id, s.account_id) for s in entry] == [(trader.pk, trader.account_id), (None, trader.account_id)]

    release(feed, 2)
    with django_capture_on_commit_callbacks(execute=True):
        process_paper_orders()
    assert TradePlan.objects.get(pk=plan_id).status == TradePlan.Status.COMPLETED
    wallet = PaperAccountState.objects.get(account=trader.account)
    last = EquitySnapshot.objects.filter(trader__isnull=True, account=trader.account).latest("id")
    assert last.realised == wallet.realized_pnl.quantize(D("1e-8")) and last.realised > 0
    assert last.fees == wallet.fees_paid.quantize(D("1e-8"))
    assert last.balance == last.equity == wallet.cash.quantize(D("1e-8"))
    assert last.unrealised == 0
    assert EquitySnapshot.objects.filter(source="fill").count() == 4  # entry fill, take-profit fill

    event = Event.objects.filter(type="equity").latest("id")
    assert set(event.data) == {
        "trader_id",
        "account_id",
        "time",
        "equity",
        "realised",
        "unrealised",
        "fees",
        "drawdown",
    }
    assert (event.data["trader_id"], D(event.data["equity"])) == (None, last.equity)


def test_the_schedule_snapshots_every_account_and_trader() -> None:
    trader = TraderFactory()
    ExchangeAccountFactory()
    assert take_equity_snapshots() == "3 equity snapshots"
    assert EquitySnapshot.objects.filter(source="schedule", trader=trader).count() == 1
    assert EquitySnapshot.objects.filter(source="schedule", trader__isnull=True).count() == 2
    assert Event.objects.filter(type="equity").count() == 3


def test_a_snapshot_event_reports_the_drawdown_from_todays_peak() -> None:
    trader = TraderFactory()
    EquitySnapshot.objects.create(
        trader=trader, account=trader.account, time=timezone.now(), source="schedule",
        equity=D(12500), balance=D(12500), realised=D(0), unrealised=D(0), fees=D(0),
    )  # fmt: skip
    equity_snapshot_take(account=trader.account, trader=trader, source="schedule")  # 10,000, nothing traded
    assert Event.objects.filter(type="equity").latest("id").data["drawdown"] == pytest.approx(-0.2)


def snapshot(account, at: datetime, equity: int, trader=None) -> None:
    EquitySnapshot.objects.create(
        trader=trader, account=account, time=at, source="schedule",
        equity=D(equity), balance=D(equity), realised=D(0), unrealised=D(0), fees=D(0),
    )  # fmt: skip


T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def test_series_keeps_the_last_snapshot_of_each_interval_with_drawdown() -> None:
    """5-minute buckets of 10:00 [100, 110], 10:05 [99], 10:10 [121]: 110, 99, 121;
    drawdown 0, 99/110 − 1 = −0.1, 0 (the tiny curve of tests/backtests/test_metrics.py)."""
    account = ExchangeAccountFactory()
    for minutes, equity in ((0, 100), (3, 110), (6, 99), (14, 121)):
        snapshot(account, T0 + timedelta(minutes=minutes), equity)
    points = equity_series(account_id=account.pk, start=T0, end=T0 + timedelta(hours=1), interval="5m")
    assert [(p.time, p.equity) for p in points] == [
        (T0, D(110)),
        (T0 + timedelta(minutes=5), D(99)),
        (T0 + timedelta(minutes=10), D(121)),
    ]
    assert [p.drawdown for p in points] == pytest.approx([0.0, -0.1, 0.0])
    assert len(equity_series(account_id=account.pk, start=T0, interval="1h")) == 1


def test_desk_series_sums_each_accounts_latest_equity() -> None:
    """Account 1 at 10:00 = 100, account 2 at 10:01 = 50, account 1 at 10:02 = 80 (per snapshot): 100, 150, 130."""
    first, second = ExchangeAccountFactory(), ExchangeAccountFactory()
    snapshot(first, T0, 100)
    snapshot(second, T0 + timedelta(minutes=1), 50)
    snapshot(first, T0 + timedelta(minutes=2), 80)
    snapshot(first, T0 + timedelta(minutes=2), 999, trader=TraderFactory(account=first))  # a trader's: not the desk's
    points = equity_series(start=T0, interval=None)
    assert [p.equity for p in points] == [D(100), D(150), D(130)]
    assert points[-1].drawdown == pytest.approx(130 / 150 - 1)


def test_a_failing_snapshot_never_stops_a_fill(operator, monkeypatch, django_capture_on_commit_callbacks) -> None:
    def broken(**_kwargs):
        raise RuntimeError("snapshot broke")

    monkeypatch.setattr("apps.traders.services.pnl.books", broken)
    trader, _feed = setup_paper_trader()
    client = client_for(operator)
    plan_id = _preview(client, trader)["id"]
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, EXECUTE, {"plan_id": plan_id}).status_code == 200
    assert TradePlan.objects.get(pk=plan_id).status == TradePlan.Status.PROTECTION_PLACED
    assert not EquitySnapshot.objects.exists()
