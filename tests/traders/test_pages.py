"""The /risk/ page: viewers read only (enforced by the views), operators engage and release the
kill switch and halt and reset traders, always with a reason; errors are shown and change nothing."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from apps.traders import services
from apps.traders.models import HaltEvent, KillSwitch, TraderRiskState
from tests.traders.approval_helpers import approve_pending
from tests.traders.conftest import T0, client_for

pytestmark = pytest.mark.django_db
URL = "/risk/"
ENGAGE = "/risk/kill-switch/engage/"
RELEASE = "/risk/kill-switch/release/"
HTMX = {"HTTP_HX_REQUEST": "true"}


def engaged() -> bool:
    return KillSwitch.objects.filter(engaged=True).exists()


def test_viewer_sees_state_but_no_forms_and_cannot_post(viewer, trader, operator) -> None:
    services.trader_risk_update(trader=trader, equity=Decimal(1000), now=T0)
    services.trader_risk_update(trader=trader, equity=Decimal(960), now=T0)
    client = client_for(viewer)
    page = client.get(URL).content.decode()
    assert 'id="kill-switch"' in page and 'id="trader-table"' in page and 'id="halt-events"' in page
    assert "Desk A" in page and "halted (daily loss)" in page and "960.00" in page and "1,000.00" in page
    assert 'name="reason"' not in page and ENGAGE not in page and "/halt/" not in page
    assert client.post(ENGAGE, {"reason": "x"}).status_code == 403
    assert client.post(f"/risk/traders/{trader.pk}/reset/", {"reason": "x"}).status_code == 403
    assert not engaged() and TraderRiskState.objects.get().halt == "daily_loss"


def test_operator_engages_with_a_reason_and_the_page_shows_it(operator, trader) -> None:
    client = client_for(operator)
    page = client.get(URL).content.decode()
    assert ENGAGE in page and "hx-confirm" in page and 'method="post"' in page
    response = client.post(ENGAGE, {"reason": "exchange outage"})
    assert response.status_code == 302 and response["Location"] == URL
    assert engaged()
    page = client.get(URL).content.decode()
    assert "engaged" in page and "exchange outage" in page and operator.username in page
    assert "halted (kill switch)" in page and RELEASE in page
    assert client.get(URL, {"page": 1}).status_code == 200


def test_missing_reason_shows_an_error_and_leaves_the_switch_released(operator) -> None:
    client = client_for(operator)
    response = client.post(ENGAGE, {"reason": "  "})
    assert response.status_code == 422
    assert "is required" in response.content.decode()
    response = client.post(ENGAGE, {}, **HTMX)
    assert response.status_code == 200
    assert response.content.decode().startswith('<section id="kill-switch">')
    assert "is required" in response.content.decode()
    assert not engaged() and not HaltEvent.objects.exists()


def test_htmx_engage_and_release_swap_the_switch_and_refresh_the_rest(operator) -> None:
    client = client_for(operator)
    response = client.post(ENGAGE, {"reason": "drill"}, **HTMX)
    body = response.content.decode()
    assert body.startswith('<section id="kill-switch">') and "drill" in body and RELEASE in body
    assert set(json.loads(response["HX-Trigger"])) == {"kill-switch-changed", "halt-events-changed"}
    table = client.get("/risk/traders/").content.decode()
    assert table.startswith('<div id="trader-table"')
    events = client.get("/risk/events/").content.decode()
    assert events.startswith('<div id="halt-events"') and "drill" in events
    response = client.post(RELEASE, {"reason": "drill over"}, **HTMX)
    assert engaged() and "Waiting for a second admin" in response.content.decode()  # four-eyes
    approve_pending()
    assert not engaged() and ENGAGE in client.get(URL).content.decode()


def test_operator_halts_and_resets_a_trader_row(operator, trader) -> None:
    client = client_for(operator)
    halt, reset = f"/risk/traders/{trader.pk}/halt/", f"/risk/traders/{trader.pk}/reset/"
    response = client.post(halt, {"reason": ""}, **HTMX)
    row = response.content.decode()
    assert f'id="trader-row-{trader.pk}"' in row and "reason: is required" in row
    assert not TraderRiskState.objects.exists()
    row = client.post(halt, {"reason": "fills look wrong"}, **HTMX).content.decode()
    assert "halted (operator)" in row and "fills look wrong" in row and reset in row and "hx-confirm" in row
    response = client.post(reset, {"reason": ""})
    assert response.status_code == 422 and "reason: is required" in response.content.decode()
    assert TraderRiskState.objects.get().halt == "operator"
    assert client.post(reset, {"reason": "fixed"}).status_code == 302
    assert TraderRiskState.objects.get().halt == ""
    page = client.get(URL).content.decode()
    assert "fills look wrong" in page and "fixed" in page and operator.username in page


def test_halt_events_are_paged(operator) -> None:
    for n in range(25):
        services.kill_switch_engage(user=operator, reason=f"drill {n}")
        services.kill_switch_release(user=operator, reason=f"done {n}")
        approve_pending()
    client = client_for(operator)
    page = client.get(URL).content.decode()
    assert "page 1 of 3" in page and "done 24" in page and "drill 0<" not in page
    assert "drill 0<" in client.get(URL, {"page": 3}).content.decode()
