"""The strategy admin: the spec edited as JSON, every problem shown on the form, saves through
the service (version rules, history with the user), operators allowed, viewers read only."""

from __future__ import annotations

import json

import pytest

from apps.strategies.models import Strategy
from tests.strategies.factories import BAD_REFERENCE_PATH, StrategyFactory, client_for, good_spec, two_error_spec

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("known_markets")]
ADD_URL = "/admin/strategies/strategy/add/"


def change_url(strategy: Strategy) -> str:
    return f"/admin/strategies/strategy/{strategy.pk}/change/"


def form_data(**overrides) -> dict:
    return {"name": "Trend", "description": "", "spec": json.dumps(good_spec()), "enabled": "", **overrides}


def test_add_stores_version_one_with_the_user(operator) -> None:
    response = client_for(operator).post(ADD_URL, form_data(spec=json.dumps(good_spec(cooldown_bars=4))))
    assert response.status_code == 302, response.content.decode()[:2000]
    strategy = Strategy.objects.get()
    assert (strategy.version, strategy.cooldown_bars) == (1, 4)
    record = strategy.history.get()
    assert (record.history_user, record.history_change_reason) == (operator, "created")


def test_spec_problems_are_shown_on_the_form_and_nothing_is_saved(operator) -> None:
    client = client_for(operator)
    page = client.post(ADD_URL, form_data(spec=json.dumps(two_error_spec()))).content.decode()
    assert f"{BAD_REFERENCE_PATH}: unknown indicator &#x27;ema_201&#x27;" in page
    assert "exit.short.left: unknown indicator &#x27;rsi_9&#x27;" in page
    page = client.post(ADD_URL, form_data(spec="{not json")).content.decode()
    assert "Enter a valid JSON." in page and "{not json" in page
    assert not Strategy.objects.exists()


def test_duplicate_name_is_shown_on_the_form(operator) -> None:
    StrategyFactory(name="Trend")
    page = client_for(operator).post(ADD_URL, form_data()).content.decode()
    assert "Strategy with this Name already exists." in page
    assert Strategy.objects.count() == 1


def test_change_bumps_the_version_only_for_a_new_spec(operator) -> None:
    strategy = StrategyFactory(name="Trend", spec=good_spec())
    client = client_for(operator)
    page = client.get(change_url(strategy)).content.decode()
    assert "&quot;ema_200&quot;" in page  # the spec is shown as JSON

    assert client.post(change_url(strategy), form_data(description="notes", enabled="on")).status_code == 302
    strategy.refresh_from_db()
    assert (strategy.version, strategy.enabled, strategy.description) == (1, True, "notes")

    changed = form_data(spec=json.dumps(good_spec(cooldown_bars=6)), enabled="on", description="notes")
    assert client.post(change_url(strategy), changed).status_code == 302
    strategy.refresh_from_db()
    assert (strategy.version, strategy.cooldown_bars) == (2, 6)
    assert strategy.history.first().history_change_reason == "spec changed: v1 → v2"
    assert strategy.history.first().history_user == operator

    page = client.post(change_url(strategy), form_data(spec=json.dumps(two_error_spec()))).content.decode()
    assert BAD_REFERENCE_PATH in page
    assert Strategy.objects.get().version == 2


def test_reverting_from_the_history_view_is_a_new_version(admin_user) -> None:
    strategy = StrategyFactory(name="Trend", spec=good_spec())
    client = client_for(admin_user)
    client.post(change_url(strategy), form_data(spec=json.dumps(good_spec(cooldown_bars=6))))
    first = strategy.history.earliest()
    revert_url = f"/admin/strategies/strategy/{strategy.pk}/history/{first.history_id}/"
    response = client.post(revert_url, form_data(spec=json.dumps(first.spec)))
    assert response.status_code == 302, response.content.decode()[:2000]
    strategy.refresh_from_db()
    assert (strategy.version, strategy.cooldown_bars) == (3, 0)


def test_delete_goes_through_the_service(operator) -> None:
    strategy = StrategyFactory(name="Trend")
    response = client_for(operator).post(f"/admin/strategies/strategy/{strategy.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Strategy.objects.exists()
    assert Strategy.history.filter(history_type="-").get().history_change_reason == "deleted"


def test_list_search_and_filter(operator) -> None:
    StrategyFactory(name="Alpha", enabled=True)
    StrategyFactory(name="Beta")
    client = client_for(operator)
    page = client.get("/admin/strategies/strategy/", {"q": "alp"}).content.decode()
    assert "Alpha" in page and "Beta" not in page
    page = client.get("/admin/strategies/strategy/", {"enabled__exact": "0"}).content.decode()
    assert "Beta" in page and "Alpha" not in page


@pytest.mark.parametrize(("role_fixture", "can_change"), [("viewer", False), ("operator", True), ("admin_user", True)])
def test_operators_and_admins_may_change_strategies_in_the_admin(request, role_fixture: str, can_change: bool) -> None:
    client = client_for(request.getfixturevalue(role_fixture))
    assert client.get("/admin/strategies/strategy/").status_code == 200
    assert (client.get(ADD_URL).status_code == 200) == can_change
    client.post(ADD_URL, form_data())
    assert Strategy.objects.exists() == can_change
