from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from apps.traders.models import TradePlan
from tests.factories import ExchangeAccountFactory, MarketFactory, TraderFactory, UserFactory
from tests.strategies.factories import StrategyFactory

T0 = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def alice(db: Any) -> Any:
    """An admin who asks for a four-eyes change; `bob` is the second admin."""
    return UserFactory(username="alice", role="admin")


@pytest.fixture
def bob(db: Any) -> Any:
    return UserFactory(username="bob", role="admin")


@pytest.fixture
def live_trader(db: Any) -> Any:
    account = ExchangeAccountFactory(name="Live desk", mode="live")
    return TraderFactory(name="Live one", account=account, live=True)


def client_for(user: Any) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def trade_plan_for(trader: Any) -> TradePlan:
    """A bare previewed plan: just enough for the PROTECT relation to the trader."""
    return TradePlan.objects.create(
        trader=trader,
        account=trader.account,
        market=MarketFactory(),
        side="buy",
        quantity=Decimal("0.01"),
        reference_price=Decimal(60000),
        live=False,
        risk_report={},
        estimate={},
        expires_at=timezone.now(),
    )


@pytest.fixture
def trader(db):
    return TraderFactory(name="Desk A")


@pytest.fixture
def live_account(db):
    return ExchangeAccountFactory(name="Live account", mode="live")


@pytest.fixture
def runnable_trader(db):
    """A stopped paper trader with a strategy (RSI mean reversion on 1h) and its market: it can start."""
    strategy = StrategyFactory(name="RSI dip")
    trader = TraderFactory(name="Runner", strategy=strategy)
    trader.markets.set([MarketFactory()])
    return trader
