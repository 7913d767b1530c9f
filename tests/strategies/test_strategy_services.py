"""Strategy services: validation before storage, the version rules, names, toggles, presets."""

from __future__ import annotations

import pytest

from apps.core.errors import ServiceValidationError
from apps.strategies import services
from apps.strategies.models import Strategy
from apps.strategies.services import StrategySpecInvalid
from tests.strategies.factories import BAD_REFERENCE_PATH, StrategyFactory, bad_reference_spec, good_spec

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("known_markets")]


def test_create_stores_the_spec_with_defaults_written_out() -> None:
    strategy = services.strategy_create(name="Trend", spec=good_spec(cooldown_bars=3))
    assert strategy.version == 1
    assert strategy.cooldown_bars == 3
    assert strategy.enabled is False
    assert strategy.spec["indicators"][0]["source"] == "close"  # the default is stored, not implied
    assert strategy.parsed_spec().timeframe == "1h"


def test_invalid_spec_raises_every_error_and_stores_nothing() -> None:
    spec = bad_reference_spec()
    spec["cooldown_bars"] = -1
    with pytest.raises(StrategySpecInvalid) as caught:
        services.strategy_create(name="Broken", spec={**spec, "markets": []})
    assert {error.path for error in caught.value.errors} == {"markets", "cooldown_bars"}
    with pytest.raises(StrategySpecInvalid) as caught:
        services.strategy_create(name="Broken", spec=bad_reference_spec())
    assert [str(error) for error in caught.value.errors] == [f"{BAD_REFERENCE_PATH}: unknown indicator 'ema_201'"]
    assert caught.value.field == "spec"
    assert not Strategy.objects.exists()
    assert not Strategy.history.exists()


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(ServiceValidationError) as caught:
        services.strategy_create(name=name, spec=good_spec())
    assert caught.value.field == "name"
    assert not Strategy.objects.exists()


def test_duplicate_name_is_refused_on_create_and_rename() -> None:
    StrategyFactory(name="Trend")
    other = StrategyFactory(name="Other")
    with pytest.raises(ServiceValidationError) as caught:
        services.strategy_create(name="Trend", spec=good_spec())
    assert caught.value.field == "name"
    with pytest.raises(ServiceValidationError) as caught:
        services.strategy_update(strategy=other, changes={"name": " Trend "})
    assert caught.value.field == "name"
    assert Strategy.objects.count() == 2
    other.refresh_from_db()
    assert other.name == "Other"


def test_spec_change_bumps_version_and_mirrors_cooldown() -> None:
    strategy = StrategyFactory(spec=good_spec())
    updated = services.strategy_update(strategy=strategy, changes={"spec": good_spec(cooldown_bars=7)})
    assert (updated.version, updated.cooldown_bars) == (2, 7)
    updated = services.strategy_update(strategy=updated, changes={"spec": good_spec(timeframe="4h", cooldown_bars=7)})
    assert updated.version == 3
    assert Strategy.objects.get().version == 3
    assert updated.history.first().history_change_reason == "spec changed: v2 → v3"


def test_same_spec_in_another_spelling_keeps_the_version() -> None:
    spelled_out = good_spec(cooldown_bars=0)
    spelled_out["indicators"] = [{**indicator, "source": "close"} for indicator in spelled_out["indicators"]]
    strategy = StrategyFactory(spec=spelled_out)
    implicit = good_spec()  # the same rules, defaults left out
    assert "cooldown_bars" not in implicit and "source" not in implicit["indicators"][0]
    updated = services.strategy_update(strategy=strategy, changes={"spec": implicit})
    assert updated.version == 1
    assert strategy.history.count() == 1  # nothing changed, nothing recorded


def test_name_description_enabled_do_not_bump_the_version() -> None:
    strategy = StrategyFactory(name="Trend")
    updated = services.strategy_update(
        strategy=strategy, changes={"name": "Trend 2", "description": "notes", "enabled": True}
    )
    assert (updated.name, updated.description, updated.enabled, updated.version) == ("Trend 2", "notes", True, 1)
    assert updated.history.first().history_change_reason == "renamed: Trend → Trend 2; description changed; enabled"


def test_invalid_spec_on_update_changes_nothing() -> None:
    strategy = StrategyFactory(name="Trend", spec=good_spec())
    with pytest.raises(StrategySpecInvalid):
        services.strategy_update(strategy=strategy, changes={"name": "Renamed", "spec": bad_reference_spec()})
    strategy.refresh_from_db()
    assert (strategy.name, strategy.version, strategy.spec) == ("Trend", 1, services.spec_normalize(good_spec())[0])
    assert strategy.history.count() == 1


def test_unknown_fields_cannot_be_changed() -> None:
    strategy = StrategyFactory()
    for field in ("version", "cooldown_bars", "id"):
        with pytest.raises(ServiceValidationError) as caught:
            services.strategy_update(strategy=strategy, changes={field: 9})
        assert caught.value.field == field


def test_expected_version_refuses_a_stale_edit() -> None:
    strategy = StrategyFactory(spec=good_spec())
    services.strategy_update(strategy=strategy, changes={"spec": good_spec(cooldown_bars=1)})
    with pytest.raises(ServiceValidationError, match="changed by someone else"):
        services.strategy_update(strategy=strategy, changes={"spec": good_spec(cooldown_bars=2)}, expected_version=1)
    assert Strategy.objects.get().cooldown_bars == 1


def test_toggle_flips_sets_and_records_reasons() -> None:
    strategy = StrategyFactory()
    assert services.strategy_toggle(strategy=strategy).enabled is True
    assert services.strategy_toggle(strategy=strategy, enabled=True).enabled is True  # no-op, no record
    assert services.strategy_toggle(strategy=strategy).enabled is False
    reasons = list(strategy.history.order_by("history_id").values_list("history_change_reason", flat=True))
    assert reasons == ["created", "enabled", "disabled"]
    assert Strategy.objects.get().version == 1


def test_toggle_refuses_to_enable_a_spec_that_no_longer_validates() -> None:
    strategy = StrategyFactory()
    Strategy.objects.filter(pk=strategy.pk).update(spec={"entry": {}})  # e.g. written before a schema change
    with pytest.raises(StrategySpecInvalid):
        services.strategy_toggle(strategy=strategy, enabled=True)
    assert Strategy.objects.get().enabled is False


def test_delete_records_the_deletion() -> None:
    strategy = StrategyFactory(name="Gone")
    services.strategy_delete(strategy=strategy)
    assert not Strategy.objects.exists()
    record = Strategy.history.filter(name="Gone").first()
    assert (record.history_type, record.history_change_reason) == ("-", "deleted")


def test_from_preset_fills_timeframe_markets_and_description() -> None:
    strategy = services.strategy_from_preset(preset="ema_trend", timeframe="4h", markets=["ETH/USDT:USDT"])
    assert strategy.name == "ema_trend"
    assert strategy.spec["timeframe"] == "4h"
    assert strategy.spec["markets"] == ["ETH/USDT:USDT"]
    assert "EMA 50/200" in strategy.description
    named = services.strategy_from_preset(preset="ema_trend", name="Trend 2", timeframe="1h", markets=["BTC/USDT"])
    assert named.name == "Trend 2"


def test_from_preset_errors() -> None:
    with pytest.raises(ServiceValidationError) as caught:
        services.strategy_from_preset(preset="nope", timeframe="1h", markets=["BTC/USDT"])
    assert caught.value.field == "preset"
    with pytest.raises(StrategySpecInvalid) as caught:
        services.strategy_from_preset(preset="ema_trend", timeframe="7m", markets=[])
    assert {error.path for error in caught.value.errors} == {"timeframe", "markets"}
    assert not Strategy.objects.exists()


RSI_RULES = {
    "indicators": [{"id": "rsi_14", "kind": "rsi", "period": 14}],
    "entry": {"long": {"left": "rsi_14", "op": "<", "right": 30.0}},
    "exit": {"long": {"left": "rsi_14", "op": ">", "right": 70.5}},
}


def test_whole_numbers_are_stored_whole_and_round_trip() -> None:
    strategy = services.strategy_create(name="RSI", spec=good_spec(**RSI_RULES))
    threshold = strategy.spec["entry"]["long"]["right"]
    assert threshold == 30 and isinstance(threshold, int)  # shown as 30 in the editor, not 30.0
    assert strategy.spec["exit"]["long"]["right"] == 70.5
    assert strategy.parsed_spec().entry.long.right == 30.0
    assert services.strategy_update(strategy=strategy, changes={"spec": strategy.spec}).version == 1
