"""Writes to strategies. Every write validates the spec, keeps `version` and `cooldown_bars` in step
with it and leaves a history record with a reason; the user comes from the request
(simple_history's HistoryRequestMiddleware) or from the admin."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction

from apps.core.deletion import delete_unless_used
from apps.core.errors import ServiceValidationError
from apps.strategies.models import Strategy
from apps.strategies.presets import PRESETS, preset_names
from apps.strategies.selectors import spec_validate
from apps.strategies.spec import SpecError, StrategySpec, validate_spec

EDITABLE_FIELDS = ("name", "description", "spec", "enabled")
NAME_MAX_LENGTH = Strategy._meta.get_field("name").max_length


class StrategySpecInvalid(ServiceValidationError):
    """A spec that does not validate; `errors` holds every problem with its path inside the spec."""

    def __init__(self, errors: list[SpecError]) -> None:
        super().__init__("spec", "; ".join(str(error) for error in errors))
        self.errors = errors

    def field_errors(self) -> list[dict[str, Any]]:
        return [{"loc": ["body", "spec"], "path": error.path, "msg": error.message} for error in self.errors]


def spec_normalize(data: Any) -> tuple[dict[str, Any], StrategySpec]:
    """Validate a spec and return it with every default written out.

    Storing the defaults (source, k, timeframe, cooldown_bars, ...) means a later change of a
    default in apps.strategies.spec cannot silently change what a stored strategy does.
    """
    spec, errors = spec_validate(data=data)
    if spec is None:
        raise StrategySpecInvalid(errors)
    return _dump(spec), spec


def _dump(spec: StrategySpec) -> dict[str, Any]:
    return _whole_numbers_as_int(spec.model_dump(mode="json", exclude_none=True))


def _whole_numbers_as_int(value: Any) -> Any:
    # Thresholds are floats in the schema, so `30` would come back as `30.0` in the editor the
    # operator typed it into; whole numbers stay whole (the schema reads them as floats again).
    if isinstance(value, dict):
        return {key: _whole_numbers_as_int(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_numbers_as_int(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _stored_spec_normalized(strategy: Strategy) -> Any:
    # A row written before this module (or by hand) may hold the spec in another spelling;
    # compare like with like so that re-saving the same rules does not count as a new version.
    spec, _errors = validate_spec(strategy.spec)
    return _dump(spec) if spec is not None else strategy.spec


def _clean_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ServiceValidationError("name", "may not be blank")
    name = name.strip()
    if len(name) > NAME_MAX_LENGTH:
        raise ServiceValidationError("name", f"must be at most {NAME_MAX_LENGTH} characters")
    return name


def _check_unique_name(name: str, *, exclude_pk: int | None = None) -> None:
    if Strategy.objects.filter(name=name).exclude(pk=exclude_pk).exists():
        raise ServiceValidationError("name", f"a strategy named {name!r} already exists")


def _save(strategy: Strategy, *, reason: str) -> Strategy:
    strategy._change_reason = reason  # type: ignore[attr-defined]
    try:
        # The savepoint keeps the outer transaction usable when two requests race for one name
        # and the unique constraint, not the lookup above, is what catches the second.
        with transaction.atomic():
            strategy.save()
    except IntegrityError:
        if Strategy.objects.filter(name=strategy.name).exclude(pk=strategy.pk).exists():
            raise ServiceValidationError("name", f"a strategy named {strategy.name!r} already exists") from None
        raise
    finally:
        # The reason belongs to this save only; a later save of the same object must not reuse it.
        del strategy._change_reason  # type: ignore[attr-defined]
    return strategy


@transaction.atomic
def strategy_create(*, name: str, spec: Any, description: str = "", enabled: bool = False) -> Strategy:
    name = _clean_name(name)
    data, parsed = spec_normalize(spec)
    _check_unique_name(name)
    strategy = Strategy(
        name=name,
        description=description or "",
        spec=data,
        enabled=bool(enabled),
        cooldown_bars=parsed.cooldown_bars,
        version=1,
    )
    return _save(strategy, reason="created" + (", enabled" if strategy.enabled else ""))


@transaction.atomic
def strategy_update(*, strategy: Strategy, changes: Mapping[str, Any], expected_version: int | None = None) -> Strategy:
    """Apply `changes` (any of EDITABLE_FIELDS). Only a different spec bumps the version.

    `expected_version`, when given, refuses the write if someone saved a new spec since the
    caller loaded it, instead of overwriting their rules unseen.
    """
    unknown = [field for field in changes if field not in EDITABLE_FIELDS]
    if unknown:
        raise ServiceValidationError(unknown[0], "is not an editable field")
    strategy = Strategy.objects.select_for_update().get(pk=strategy.pk)
    if expected_version is not None and strategy.version != expected_version:
        raise ServiceValidationError(
            "spec",
            f"changed by someone else since you opened it (now v{strategy.version}, you edited v{expected_version})",
        )
    reasons: list[str] = []
    if "name" in changes:
        name = _clean_name(changes["name"])
        if name != strategy.name:
            _check_unique_name(name, exclude_pk=strategy.pk)
            reasons.append(f"renamed: {strategy.name} → {name}")
            strategy.name = name
    if "description" in changes:
        description = changes["description"] or ""
        if description != strategy.description:
            reasons.append("description changed")
            strategy.description = description
    if "spec" in changes:
        data, parsed = spec_normalize(changes["spec"])
        if data != _stored_spec_normalized(strategy):
            reasons.append(f"spec changed: v{strategy.version} → v{strategy.version + 1}")
            strategy.spec = data
            strategy.version += 1
            strategy.cooldown_bars = parsed.cooldown_bars
    if "enabled" in changes and bool(changes["enabled"]) != strategy.enabled:
        if changes["enabled"]:
            _check_runnable(strategy)
        strategy.enabled = bool(changes["enabled"])
        reasons.append("enabled" if strategy.enabled else "disabled")
    if not reasons:
        return strategy
    return _save(strategy, reason="; ".join(reasons))


def _check_runnable(strategy: Strategy) -> None:
    # Stored specs were valid when written, but the spec schema can tighten later; never switch
    # on a strategy the evaluator would reject.
    _spec, errors = validate_spec(strategy.spec)
    if errors:
        raise StrategySpecInvalid(errors)


@transaction.atomic
def strategy_toggle(*, strategy: Strategy, enabled: bool | None = None) -> Strategy:
    """Switch a strategy on or off; `enabled=None` flips it. Setting the current value is a no-op."""
    strategy = Strategy.objects.select_for_update().get(pk=strategy.pk)
    target = not strategy.enabled if enabled is None else bool(enabled)
    if target == strategy.enabled:
        return strategy
    if target:
        _check_runnable(strategy)
    strategy.enabled = target
    return _save(strategy, reason="enabled" if target else "disabled")


@transaction.atomic
def strategy_delete(*, strategy: Strategy) -> None:
    strategy._change_reason = "deleted"  # type: ignore[attr-defined]
    # Signals (and later traders) keep the strategy that produced them; the audit trail needs it,
    # so the answer is to disable the strategy, not to delete its evidence.
    delete_unless_used(strategy, strategy.delete, advice="disable it instead")


@transaction.atomic
def strategy_from_preset(
    *,
    preset: str,
    name: str | None = None,
    timeframe: str,
    markets: list[str],
    rules: Mapping[str, Any] | None = None,
    description: str | None = None,
) -> Strategy:
    """A strategy from a preset. `rules` replaces top-level keys of the preset's spec (its `entry` and
    `exit`, say, for other thresholds); `description` then says what the changed rules do."""
    if preset not in PRESETS:
        raise ServiceValidationError("preset", f"unknown preset {preset!r}; choose one of: {', '.join(preset_names())}")
    # Not presets.preset_spec_data: it swaps an empty market list for its default, and an
    # operator who sent no markets should hear so rather than trade BTC by surprise.
    spec = {**PRESETS[preset]["spec"], **(rules or {}), "timeframe": timeframe, "markets": list(markets)}
    return strategy_create(name=name or preset, spec=spec, description=description or PRESETS[preset]["description"])
