"""The /strategies/ pages: list, create (preset or blank), edit with inline errors, delete with a
confirmation, toggle by HTMX, history; viewers read only, enforced by the views."""

from __future__ import annotations

import html
import json
import re

import pytest

from apps.strategies.forms import spec_text
from apps.strategies.models import Strategy
from tests.strategies.factories import BAD_REFERENCE_PATH, StrategyFactory, bad_reference_spec, client_for, good_spec

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("known_markets")]
HTMX = {"HTTP_HX_REQUEST": "true"}


def editor_text(page: str) -> str:
    """What the spec textarea holds, as the browser would show it."""
    match = re.search(r'<textarea name="spec"[^>]*>(.*?)</textarea>', page, re.DOTALL)
    assert match, "no spec editor on the page"
    return html.unescape(match.group(1)).strip()


def form_data(**overrides) -> dict:
    data = {"name": "Trend", "description": "", "spec": json.dumps(good_spec()), "action": "save"}
    return {**data, **overrides}


def test_list_shows_rows_and_write_buttons_for_operators(operator) -> None:
    StrategyFactory(name="Trend", spec=good_spec(timeframe="4h", cooldown_bars=3), enabled=True)
    page = client_for(operator).get("/strategies/").content.decode()
    assert "Trend" in page and "v1" in page and "4h" in page and "BTC/USDT:USDT" in page
    assert 'id="strategy-table"' in page
    assert "New strategy" in page and "Disable" in page and "/edit/" in page


def test_list_filters_search_and_paginates(viewer) -> None:
    StrategyFactory(name="Alpha", enabled=True)
    StrategyFactory(name="Beta", spec=good_spec(timeframe="4h"))
    client = client_for(viewer)
    partial = client.get("/strategies/", {"enabled": "yes"}, **HTMX).content.decode()
    assert partial.startswith('<div id="strategy-table">')
    assert "Alpha" in partial and "Beta" not in partial
    assert "Beta" in client.get("/strategies/", {"timeframe": "4h"}).content.decode()
    assert "Alpha" not in client.get("/strategies/", {"q": "bet"}).content.decode().split("<tbody>")[1]
    for n in range(26):
        StrategyFactory(name=f"Z{n:02d}")
    first = client.get("/strategies/", {"q": "Z"}).content.decode()
    assert "page 1 of 2" in first and "q=Z&amp;page=2" in first
    assert "Z25" in client.get("/strategies/", {"q": "Z", "page": 2}).content.decode()


def test_viewer_sees_no_write_buttons_and_gets_403_on_every_write_view(viewer) -> None:
    strategy = StrategyFactory()
    client = client_for(viewer)
    page = client.get("/strategies/").content.decode()
    assert "New strategy" not in page and "/toggle/" not in page and "/edit/" not in page
    detail = client.get(f"/strategies/{strategy.pk}/")
    assert detail.status_code == 200 and "/delete/" not in detail.content.decode()
    assert client.get("/strategies/new/").status_code == 403
    assert client.post("/strategies/new/", form_data(name="Sneaky")).status_code == 403
    assert client.get(f"/strategies/{strategy.pk}/edit/").status_code == 403
    assert client.post(f"/strategies/{strategy.pk}/edit/", form_data(name="Sneaky")).status_code == 403
    assert client.get(f"/strategies/{strategy.pk}/delete/").status_code == 403
    assert client.post(f"/strategies/{strategy.pk}/delete/", {"confirm": "yes"}).status_code == 403
    assert client.post(f"/strategies/{strategy.pk}/toggle/", {"enabled": "true"}, **HTMX).status_code == 403
    assert list(Strategy.objects.values_list("name", "enabled")) == [(strategy.name, False)]


def test_pages_need_a_login_and_a_role(outsider) -> None:
    assert client_for(None).get("/strategies/").status_code == 302
    assert client_for(outsider).get("/strategies/").status_code == 403


def test_create_page_offers_presets_and_fills_the_editor(operator) -> None:
    client = client_for(operator)
    page = client.get("/strategies/new/").content.decode()
    assert "?preset=ema_trend" in page and 'id="strategy-form"' in page
    partial = client.get("/strategies/new/", {"preset": "ema_trend"}, HTTP_HX_TARGET="strategy-form", **HTMX)
    html = partial.content.decode()
    assert html.startswith('<div id="strategy-form">')
    assert "ema_200" in html and 'value="ema_trend"' in html


def test_create_saves_and_redirects_to_the_detail(operator) -> None:
    response = client_for(operator).post("/strategies/new/", form_data(enabled="on"))
    strategy = Strategy.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/strategies/{strategy.pk}/"
    assert (strategy.name, strategy.version, strategy.enabled) == ("Trend", 1, True)


def test_create_with_errors_keeps_the_input_and_stores_nothing(operator) -> None:
    client = client_for(operator)
    typed = json.dumps(bad_reference_spec(), indent=1)
    page = client.post("/strategies/new/", form_data(spec=typed)).content.decode()
    assert f"<code>{BAD_REFERENCE_PATH}</code>: unknown indicator &#x27;ema_201&#x27;" in page
    assert editor_text(page) == typed  # exactly what the operator typed, indentation included
    assert 'value="Trend"' in page

    broken = '{"indicators": [,'
    page = client.post("/strategies/new/", form_data(spec=broken)).content.decode()
    assert "not valid JSON" in page and editor_text(page) == broken

    StrategyFactory(name="Taken")
    page = client.post("/strategies/new/", form_data(name="Taken")).content.decode()
    assert "already exists" in page
    assert Strategy.objects.count() == 1


def test_check_button_without_javascript_validates_without_saving(operator) -> None:
    page = client_for(operator).post("/strategies/new/", form_data(action="check")).content.decode()
    assert "The spec is valid" in page
    assert not Strategy.objects.exists()
    page = client_for(operator).post("/strategies/new/", form_data(action="check", spec="[]")).content.decode()
    assert "must be an object" in page and "The spec is valid" not in page


@pytest.mark.parametrize("role_fixture", ["viewer", "operator"])
def test_live_validation_returns_the_errors_partial(request, role_fixture: str) -> None:
    client = client_for(request.getfixturevalue(role_fixture))
    html = client.post("/strategies/validate/", {"spec": json.dumps(bad_reference_spec())}, **HTMX).content.decode()
    assert html.startswith('<div id="spec-errors"')
    assert BAD_REFERENCE_PATH in html
    ok = client.post("/strategies/validate/", {"spec": json.dumps(good_spec())}, **HTMX).content.decode()
    assert "The spec is valid" in ok
    by_get = client.get("/strategies/validate/", {"spec": json.dumps(good_spec())})
    assert "The spec is valid" in by_get.content.decode()
    empty = client.get("/strategies/validate/").content.decode()  # no spec yet: an empty box
    assert 'id="spec-errors"' in empty and "<li>" not in empty and "valid" not in empty
    assert client.put("/strategies/validate/").status_code == 405
    assert not Strategy.objects.exists()


def test_edit_bumps_the_version_only_for_a_new_spec(operator) -> None:
    strategy = StrategyFactory(name="Trend", spec=good_spec())
    client = client_for(operator)
    page = client.get(f"/strategies/{strategy.pk}/edit/").content.decode()
    assert 'name="expected_version" value="1"' in page and "ema_200" in page

    client.post(f"/strategies/{strategy.pk}/edit/", form_data(description="notes", expected_version=1))
    strategy.refresh_from_db()
    assert (strategy.description, strategy.version) == ("notes", 1)
    response = client.post(
        f"/strategies/{strategy.pk}/edit/", form_data(spec=json.dumps(good_spec(cooldown_bars=5)), expected_version=1)
    )
    assert response.status_code == 302
    strategy.refresh_from_db()
    assert (strategy.version, strategy.cooldown_bars) == (2, 5)


def test_edit_with_errors_or_a_stale_version_keeps_the_input(operator) -> None:
    strategy = StrategyFactory(name="Trend", spec=good_spec())
    client = client_for(operator)
    page = client.post(
        f"/strategies/{strategy.pk}/edit/", form_data(spec=json.dumps(bad_reference_spec()), expected_version=1)
    ).content.decode()
    assert BAD_REFERENCE_PATH in page and "ema_201" in editor_text(page)

    client.post(f"/strategies/{strategy.pk}/edit/", form_data(spec=json.dumps(good_spec(cooldown_bars=1))))
    mine = json.dumps(good_spec(cooldown_bars=2))
    page = client.post(f"/strategies/{strategy.pk}/edit/", form_data(spec=mine, expected_version=1)).content.decode()
    assert "changed by someone else" in page and editor_text(page) == mine
    strategy.refresh_from_db()
    assert (strategy.version, strategy.cooldown_bars) == (2, 1)


def test_delete_needs_a_post_with_confirmation(operator) -> None:
    strategy = StrategyFactory(name="Trend")
    client = client_for(operator)
    confirm_page = client.get(f"/strategies/{strategy.pk}/delete/")
    assert confirm_page.status_code == 200 and "Yes, delete" in confirm_page.content.decode()
    assert client.post(f"/strategies/{strategy.pk}/delete/").status_code == 200  # no confirm: asks again
    assert Strategy.objects.exists()

    response = client.post(f"/strategies/{strategy.pk}/delete/", {"confirm": "yes"})
    assert response.status_code == 302 and response["Location"] == "/strategies/"
    assert not Strategy.objects.exists()


def test_delete_by_htmx_removes_the_row_or_redirects(operator) -> None:
    first, second = StrategyFactory(), StrategyFactory()
    client = client_for(operator)
    row = client.post(
        f"/strategies/{first.pk}/delete/", {"confirm": "yes"}, HTTP_HX_TARGET=f"strategy-row-{first.pk}", **HTMX
    )
    assert row.status_code == 200 and row.content == b""
    from_detail = client.post(f"/strategies/{second.pk}/delete/", {"confirm": "yes"}, **HTMX)
    assert from_detail["HX-Redirect"] == "/strategies/"
    assert not Strategy.objects.exists()


def test_toggle_by_htmx_returns_the_row_partial(operator) -> None:
    strategy = StrategyFactory(name="Trend")
    client = client_for(operator)
    response = client.post(f"/strategies/{strategy.pk}/toggle/", {"enabled": "true"}, **HTMX)
    html = response.content.decode()
    assert html.startswith(f'<tr id="strategy-row-{strategy.pk}">')
    assert "enabled</span>" in html and "Disable" in html
    # The button states what it wants, so a double click does not switch it back off.
    client.post(f"/strategies/{strategy.pk}/toggle/", {"enabled": "true"}, **HTMX)
    assert Strategy.objects.get().enabled is True
    assert client.get(f"/strategies/{strategy.pk}/toggle/").status_code == 405


def test_toggle_that_cannot_enable_shows_why_in_the_row(operator) -> None:
    strategy = StrategyFactory()
    Strategy.objects.filter(pk=strategy.pk).update(spec={"entry": {}})  # stored before a schema change
    html = client_for(operator).post(f"/strategies/{strategy.pk}/toggle/", {"enabled": "true"}, **HTMX).content.decode()
    assert html.startswith(f'<tr id="strategy-row-{strategy.pk}">') and "markets: is required" in html
    assert Strategy.objects.get().enabled is False


def test_toggle_without_htmx_redirects_back(operator) -> None:
    strategy = StrategyFactory()
    client = client_for(operator)
    response = client.post(f"/strategies/{strategy.pk}/toggle/", {"next": f"/strategies/{strategy.pk}/"})
    assert response["Location"] == f"/strategies/{strategy.pk}/"
    assert Strategy.objects.get().enabled is True
    response = client.post(f"/strategies/{strategy.pk}/toggle/", {"next": "https://evil.example/"})
    assert response["Location"] == "/strategies/"


def test_detail_shows_history_with_user_reason_and_each_versions_spec(operator, viewer) -> None:
    client = client_for(operator)
    client.post("/strategies/new/", form_data())
    strategy = Strategy.objects.get()
    client.post(f"/strategies/{strategy.pk}/edit/", form_data(spec=json.dumps(good_spec(cooldown_bars=5))))
    client.post(f"/strategies/{strategy.pk}/toggle/", {"enabled": "true"})
    page = client_for(viewer).get(f"/strategies/{strategy.pk}/").content.decode()
    history = page.split("<h2>History</h2>")[1]
    assert history.count(operator.username) == 3
    assert "spec changed: v1 → v2" in history and "created" in history and "enabled" in history
    assert history.count("<details>") == 2  # v1 and v2; the toggle keeps v2's spec
    old_spec = spec_text(Strategy.history.filter(version=1).get().spec)
    assert old_spec.replace('"', "&quot;") in history


def test_the_editor_names_an_unknown_market_as_the_api_does(operator) -> None:
    spec = json.dumps(good_spec(markets=["XYZ/USDT"]))
    html = client_for(operator).post("/strategies/validate/", {"spec": spec}, **HTMX).content.decode()
    assert "<code>markets[0]</code>: unknown market XYZ/USDT (known: BTC/USDT, BTC/USDT:USDT, ETH/USDT:USDT)" in html
    page = client_for(operator).post("/strategies/new/", form_data(spec=spec)).content.decode()
    assert "unknown market XYZ/USDT" in page and "List should" not in page
    assert not Strategy.objects.exists()
