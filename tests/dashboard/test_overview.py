"""The overview (/): what exists today, counted, with the way to each page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.strategies.services import strategy_from_preset
from apps.traders.services import kill_switch_engage
from tests.dashboard.conftest import client_for
from tests.factories import MarketFactory, TraderFactory

pytestmark = pytest.mark.django_db


def test_overview_counts_what_exists_and_links_every_page(viewer) -> None:
    MarketFactory()
    TraderFactory()
    TraderFactory(status="running")
    strategy_from_preset(preset="rsi_mean_reversion", timeframe="1m", markets=["BTC/USDT:USDT"])

    page = client_for(viewer).get(reverse("home")).content.decode()

    for name in ("market:coverage", "strategies:list", "signals:list", "backtests:list", "exchanges:account_list"):
        assert f'href="{reverse(name)}"' in page
    assert f'href="{reverse("traders:kill_switch")}"' in page and f'href="{reverse("trade:plan_list")}"' in page
    assert "0 enabled." in page
    assert f'href="{reverse("trader:list")}"' in page and f'href="{reverse("audit:decision_list")}"' in page
    assert "1 running or halted." in page
    assert "later releases" not in page
    assert "A running trader acts on its strategy's signals on every new candle" in page
    assert 'Follow the running paper trader "Paper desk"' in page


def test_operators_are_pointed_at_the_trade_ticket_and_viewers_at_the_plans(viewer, operator) -> None:
    ticket = f'href="{reverse("trade:ticket")}">trade ticket</a>'
    assert "Place a paper trade" in client_for(operator).get("/").content.decode()
    assert "placing them needs the operator role" in client_for(viewer).get("/").content.decode()
    assert ticket in client_for(operator).get("/").content.decode()


def test_overview_says_when_the_kill_switch_is_engaged(viewer, operator) -> None:
    assert "kill switch is engaged" not in client_for(viewer).get("/").content.decode()

    kill_switch_engage(user=operator, reason="exchange outage")

    assert "The global kill switch is engaged:" in client_for(viewer).get("/").content.decode()
