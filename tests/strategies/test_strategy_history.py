"""Who changed a strategy, when and why: every write path leaves one history record with the user
(from the request) and a reason; the selector reads it newest first."""

from __future__ import annotations

import pytest

from apps.strategies import selectors, services
from apps.strategies.models import Strategy
from tests.strategies.factories import StrategyFactory, client_for, good_spec

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("known_markets")]
URL = "/api/v1/strategies"


def test_api_writes_record_user_and_reason(operator, admin_user) -> None:
    operator_api, admin_api = client_for(operator), client_for(admin_user)
    strategy_id = operator_api.post(
        URL, {"name": "Trend", "spec": good_spec()}, content_type="application/json"
    ).json()["id"]
    admin_api.patch(f"{URL}/{strategy_id}", {"spec": good_spec(cooldown_bars=2)}, content_type="application/json")
    operator_api.post(f"{URL}/{strategy_id}/toggle", {"enabled": True}, content_type="application/json")
    operator_api.patch(f"{URL}/{strategy_id}", {"name": "Trend 2"}, content_type="application/json")
    operator_api.delete(f"{URL}/{strategy_id}")

    records = Strategy.history.filter(id=strategy_id).order_by("history_id")
    assert [(r.history_user, r.history_type, r.version, r.history_change_reason) for r in records] == [
        (operator, "+", 1, "created"),
        (admin_user, "~", 2, "spec changed: v1 → v2"),
        (operator, "~", 2, "enabled"),
        (operator, "~", 2, "renamed: Trend → Trend 2"),
        (operator, "-", 2, "deleted"),
    ]


def test_no_op_writes_record_nothing(operator) -> None:
    strategy = StrategyFactory(spec=good_spec())
    api = client_for(operator)
    api.patch(f"{URL}/{strategy.pk}", {"spec": good_spec(), "enabled": False}, content_type="application/json")
    api.post(f"{URL}/{strategy.pk}/toggle", {"enabled": False}, content_type="application/json")
    assert strategy.history.count() == 1


def test_selector_newest_first_and_each_record_keeps_its_spec() -> None:
    strategy = StrategyFactory(spec=good_spec())  # no request: a command or a worker
    services.strategy_update(strategy=strategy, changes={"spec": good_spec(timeframe="4h")})
    entries = selectors.strategy_history(strategy=strategy)
    assert [(entry.version, entry.change, entry.user) for entry in entries] == [
        (2, "changed", None),
        (1, "created", None),
    ]
    assert (entries[0].spec["timeframe"], entries[1].spec["timeframe"]) == ("4h", "1h")
    assert len(selectors.strategy_history(strategy=strategy, limit=1)) == 1


def test_changes_without_a_user_show_as_system(viewer) -> None:
    strategy = StrategyFactory()
    page = client_for(viewer).get(f"/strategies/{strategy.pk}/").content.decode()
    assert "<td>system</td>" in page
