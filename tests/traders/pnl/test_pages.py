"""PnL today on the trader pages, formatted to 2 decimals (the desk of conftest.py)."""

from __future__ import annotations

import pytest

from tests.traders.conftest import client_for

pytestmark = pytest.mark.django_db


def test_detail_shows_pnl_today_and_its_parts(viewer, hand_desk) -> None:
    """test_selectors.test_trader_today_by_hand: net −16.224, realised −10, unrealised −6, fees 0.224."""
    page = client_for(viewer).get(f"/traders/{hand_desk.a.pk}/").content.decode()
    row = page[page.index('id="trader-pnl-today"') :].split("</tr>")[0]
    assert "<strong>-16.22</strong>" in row
    assert "realised -10.00, unrealised -6.00, fees 0.22; equity 10,003.61" in row


def test_list_shows_each_traders_net_pnl_today(viewer, hand_desk) -> None:
    """Trader B: 5 − 0.082 = 4.918."""
    page = client_for(viewer).get("/traders/").content.decode()
    row = page[page.index(f'id="trader-{hand_desk.b.pk}"') :].split("</tr>")[0]
    assert ">4.92</td>" in row and 'title="realised 5.00, unrealised 0.00, fees 0.08"' in row
