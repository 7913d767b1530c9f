"""Equity snapshots (apps.traders.models.pnl): taken after every fill and by the worker's schedule, each
published as an `equity` event in its own transaction."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from apps.core.events import EventType, publish
from apps.exchanges.models import ExchangeAccount
from apps.traders.models import EquitySnapshot, TradePlan, Trader
from apps.traders.models.pnl import SNAPSHOT_MONEY
from apps.traders.pnl_selectors import books, utc_day_start

PLACES = Decimal(1).scaleb(-SNAPSHOT_MONEY["decimal_places"])


def _stored(value: Decimal) -> Decimal:
    return value.quantize(PLACES)


@transaction.atomic
def equity_snapshot_take(*, account: ExchangeAccount, trader: Trader | None = None, source: str) -> EquitySnapshot:
    """Snapshot a trader's book (with `trader`) or the whole account's, and publish it. The event's drawdown is
    from the scope's highest equity since the UTC day began, as equity_series computes it for today."""
    trader_id = trader.pk if trader is not None else None
    figures = books(trader_id=trader_id, account_id=None if trader else account.pk, start=None, end=None)
    balance, unrealised = _stored(figures.balance), _stored(figures.unrealised)
    now = timezone.now()
    snapshot = EquitySnapshot.objects.create(
        trader_id=trader_id,
        account=account,
        time=now,
        source=source,
        equity=balance + unrealised,
        balance=balance,
        realised=_stored(figures.realised),
        unrealised=unrealised,
        fees=_stored(figures.fees),
    )
    same_scope = EquitySnapshot.objects.filter(account=account, trader_id=trader_id, time__gte=utc_day_start(now))
    peak = same_scope.aggregate(peak=Max("equity"))["peak"]
    drawdown = float(snapshot.equity / peak - 1) if peak and peak > 0 else 0.0
    publish(
        EventType.EQUITY,
        {
            "trader_id": trader_id,
            "account_id": account.pk,
            "time": now,
            "equity": snapshot.equity,
            "realised": snapshot.realised,
            "unrealised": snapshot.unrealised,
            "fees": snapshot.fees,
            "drawdown": drawdown,
        },
    )
    return snapshot


def equity_snapshots_after_fill(*, plan_id: int) -> None:
    """The plan's trader and its account, after one of the plan's orders (part-)filled."""
    plan = TradePlan.objects.select_related("trader", "account").get(pk=plan_id)
    equity_snapshot_take(account=plan.account, trader=plan.trader, source=EquitySnapshot.Source.FILL)
    equity_snapshot_take(account=plan.account, source=EquitySnapshot.Source.FILL)


def equity_snapshots_take_all() -> int:
    """Every account and every trader (the schedule); returns the snapshots taken."""
    taken = 0
    for account in ExchangeAccount.objects.order_by("pk"):
        equity_snapshot_take(account=account, source=EquitySnapshot.Source.SCHEDULE)
        taken += 1
    for trader in Trader.objects.select_related("account").order_by("pk"):
        equity_snapshot_take(account=trader.account, trader=trader, source=EquitySnapshot.Source.SCHEDULE)
        taken += 1
    return taken
