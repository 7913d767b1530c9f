"""Open alerts: a banner on every page until acknowledged, and /alerts/ where operators acknowledge them."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.dashboard.conftest import alert, client_for
from tests.factories import ExchangeAccountFactory

pytestmark = pytest.mark.django_db


def banner(page: str) -> str:
    match = re.search(r'<aside id="alert-banner".*?</aside>', page, re.S)
    return match.group(0) if match else ""


@pytest.mark.parametrize("path", ["/", "/markets/", "/risk/", "/strategies/", "/trade/plans/"])
def test_every_page_shows_open_alerts_critical_first_with_the_way_to_acknowledge(viewer, path) -> None:
    alert("warning", "position drift on BTC")
    alert("critical", "stop-loss could not be placed")
    alert("info", "seen already", acknowledged_at=timezone.now())

    shown = banner(client_for(viewer).get(path).content.decode())

    assert "2 open alerts, 1 critical." in shown
    assert shown.index("stop-loss could not be placed") < shown.index("position drift on BTC")
    assert "seen already" not in shown
    assert f'href="{reverse("alert_list")}"' in shown


def test_the_banner_counts_what_it_does_not_list(viewer) -> None:
    for number in range(5):
        alert("warning", f"drift {number}")

    shown = banner(client_for(viewer).get("/").content.decode())

    assert "5 open alerts." in shown and shown.count("<li>") == 3 and "and 2 more." in shown


def test_no_banner_without_open_alerts(viewer) -> None:
    alert("critical", "handled", acknowledged_at=timezone.now())

    assert 'id="alert-banner"' not in client_for(viewer).get("/").content.decode()


def test_htmx_partials_do_not_query_the_alerts(viewer) -> None:
    alert("critical", "kill switch engaged")
    client = client_for(viewer)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("traders:halt_events"), headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert not [query["sql"] for query in queries.captured_queries if "alert" in query["sql"].lower()]


# --- /alerts/ ------------------------------------------------------------------------------------


def test_alerts_page_lists_open_alerts_critical_first_with_account_and_plan_links(viewer) -> None:
    account = ExchangeAccountFactory(name="Binance main")
    alert("warning", "position drift on BTC", account=account)
    alert("critical", "stop-loss could not be placed")
    alert("info", "seen already", acknowledged_at=timezone.now())

    page = client_for(viewer).get(reverse("alert_list")).content.decode()

    table = page[page.index("<table") :]
    assert table.index("stop-loss could not be placed") < table.index("position drift on BTC")
    assert "seen already" not in table
    assert f'href="{reverse("exchanges:account_detail", args=[account.pk])}"' in table
    assert "Acknowledge</button>" not in page and "Acknowledging needs the operator role." in page


def test_operator_acknowledges_an_alert_and_it_leaves_the_banner(operator) -> None:
    drift = alert("warning", "position drift on BTC")
    alert("critical", "stop-loss could not be placed")
    client = client_for(operator)
    assert "Acknowledge</button>" in client.get(reverse("alert_list")).content.decode()

    response = client.post(reverse("alert_acknowledge", args=[drift.pk]))

    assert response.status_code == 302 and response["Location"] == reverse("alert_list")
    drift.refresh_from_db()
    assert drift.acknowledged_by == operator and drift.acknowledged_at is not None
    page = client.get(reverse("alert_list")).content.decode()
    assert "1 open alert, 1 critical." in banner(page) and "position drift on BTC" not in page
    acknowledged = client.get(reverse("alert_list"), {"acknowledged": "1"}).content.decode()
    assert "position drift on BTC" in acknowledged and f"by {operator.get_username()}" in acknowledged


def test_acknowledging_twice_keeps_the_first_operator(operator, admin_user) -> None:
    drift = alert("warning", "position drift on BTC")
    client_for(operator).post(reverse("alert_acknowledge", args=[drift.pk]))

    response = client_for(admin_user).post(reverse("alert_acknowledge", args=[drift.pk]))

    assert response.status_code == 302
    drift.refresh_from_db()
    assert drift.acknowledged_by == operator


def test_a_viewer_cannot_acknowledge(viewer) -> None:
    drift = alert("warning", "position drift on BTC")

    assert client_for(viewer).post(reverse("alert_acknowledge", args=[drift.pk])).status_code == 403
    drift.refresh_from_db()
    assert drift.acknowledged_at is None


def test_acknowledging_an_unknown_alert_is_a_404(operator) -> None:
    assert client_for(operator).post(reverse("alert_acknowledge", args=[999])).status_code == 404
    assert client_for(operator).get(reverse("alert_acknowledge", args=[999])).status_code == 405
