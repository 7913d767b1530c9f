"""A strategy that signals refer to cannot be deleted (the signals would lose their origin);
the studio says so through the service, the API and the page, and keeps the strategy."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import Client

from apps.core.errors import ServiceValidationError
from apps.signals.models import Signal
from apps.strategies import services
from apps.strategies.models import Strategy
from tests.factories import MarketFactory
from tests.strategies.factories import StrategyFactory

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_delete_refuses_while_signals_refer_to_the_strategy(operator) -> None:
    strategy = StrategyFactory(name="Trend")
    Signal.objects.create(
        strategy=strategy,
        strategy_version=1,
        market=MarketFactory(),
        timeframe="1h",
        candle_open_time=datetime(2024, 1, 1, tzinfo=UTC),
        direction=Signal.Direction.LONG,
        status=Signal.Status.EMITTED,
    )
    with pytest.raises(ServiceValidationError) as caught:
        services.strategy_delete(strategy=strategy)
    assert (caught.value.field, caught.value.message) == (
        "strategy",
        "is still used by 1 signal; disable it instead",
    )
    assert Strategy.objects.filter(name="Trend").exists()

    response = client_for(operator).delete(f"/api/v1/strategies/{strategy.pk}")
    assert response.status_code == 409
    assert response.json() == {
        "detail": "The strategy is still used by 1 signal; disable it instead. Nothing was deleted.",
        "used_by": [{"model": "signal", "count": 1}],
    }
    page = client_for(operator).post(f"/strategies/{strategy.pk}/delete/", {"confirm": "yes"}).content.decode()
    assert "is still used by 1 signal" in page
    assert Strategy.objects.filter(name="Trend").exists()
