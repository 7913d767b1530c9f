"""Writes to risk profiles, traders, their halts and the global kill switch.

Every halt and reset leaves a HaltEvent (who, when, why); automatic halts and the kill switch also
raise a critical Alert. Profile and trader edits are recorded by simple-history (the user comes
from the request through HistoryRequestMiddleware, or from the admin).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from apps.ai.models import ModelConfig
from apps.core.deletion import delete_unless_used
from apps.core.errors import ServiceValidationError
from apps.core.events import EventType, publish
from apps.core.numbers import plain_number
from apps.core.pending import pending_set
from apps.exchanges.models import ExchangeAccount
from apps.market.models import MAX_LEVERAGE, Market
from apps.strategies.models import Strategy
from apps.traders import risk
from apps.traders.models import (
    OPEN_PLAN_STATUSES,
    Alert,
    ChangeRequest,
    HaltEvent,
    KillSwitch,
    PromptTemplate,
    RiskProfile,
    Trader,
    TraderRiskState,
)
from apps.traders.risk import EquityState, HaltKind
from apps.traders.services import four_eyes
from apps.traders.services.alerts import alert_raise, daily_loss_alert_update
from apps.traders.services.errors import TradeConflict, TradeRefused

RISK_PROFILE_FIELDS = (
    "name",
    "max_leverage",
    "max_order_notional",
    "max_total_notional",
    "max_open_positions",
    "symbol_cooldown_seconds",
    "risk_per_trade",
    "min_order_notional",
    "max_symbol_notional",
    "max_asset_notional",
    "require_stop_loss",
    "daily_loss_limit",
    "max_drawdown",
    "reset_daily_halt_next_day",
)
TRADER_FIELDS = (
    "name",
    "account",
    "risk_profile",
    "live",
    "strategy",
    "strategy_version",
    "markets",
    "decision_mode",
    "ai_model_config",
    "prompt_template",
    "ai_ask",
    "ai_daily_token_budget",
    "ai_daily_cost_budget",
    "sizing",
    "sizing_pct",
    "leverage",
    "stop_loss",
    "stop_loss_value",
    "take_profit",
    "take_profit_value",
    "atr_period",
)
MAX_ATR_PERIOD = 1000
# Optional rows a trader refers to, given as rows or ids.
RELATED_RULES: dict[str, type[models.Model]] = {
    "strategy": Strategy,
    "ai_model_config": ModelConfig,
    "prompt_template": PromptTemplate,
}
REASON_MAX_LENGTH = HaltEvent._meta.get_field("reason").max_length
DAILY_RESET_REASON = "new UTC day: the daily loss limit starts again"
_BOOLEAN_FIELDS = ("require_stop_loss", "reset_daily_halt_next_day")
_INTEGER_FIELDS = ("max_leverage", "max_open_positions", "symbol_cooldown_seconds")
_OPTIONAL_FIELDS = ("max_symbol_notional", "max_asset_notional")


# --- validation ----------------------------------------------------------------------------------


def _clean_name(name: Any, max_length: int) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ServiceValidationError("name", "may not be blank")
    name = name.strip()
    if len(name) > max_length:
        raise ServiceValidationError("name", f"must be at most {max_length} characters")
    return name


def _clean_reason(reason: Any) -> str:
    # The record must say why: a halt or a release nobody can explain later is worthless.
    if not isinstance(reason, str) or not reason.strip():
        raise ServiceValidationError("reason", "is required: say why, it goes into the record")
    reason = reason.strip()
    if len(reason) > REASON_MAX_LENGTH:
        raise ServiceValidationError("reason", f"must be at most {REASON_MAX_LENGTH} characters")
    return reason


def _as_decimal(profile: RiskProfile, field: str) -> Decimal | None:
    value = getattr(profile, field)
    if value is None:
        if field in _OPTIONAL_FIELDS:
            return None
        raise ServiceValidationError(field, "is required")
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise ServiceValidationError(field, f"{value!r} is not a number") from None
    if not number.is_finite():
        raise ServiceValidationError(field, "must be a finite number")
    # Checked here so that too many digits answer 422 instead of failing inside the database driver.
    model_field = RiskProfile._meta.get_field(field)
    assert isinstance(model_field, models.DecimalField)
    places = Decimal(1).scaleb(-model_field.decimal_places)
    try:
        rounded = number.quantize(places)
    except InvalidOperation:
        raise ServiceValidationError(field, "is too large") from None
    if rounded != number:
        raise ServiceValidationError(field, f"allows at most {model_field.decimal_places} decimal places")
    if rounded != 0 and rounded.adjusted() >= model_field.max_digits - model_field.decimal_places:
        raise ServiceValidationError(field, "is too large")
    number = rounded
    setattr(profile, field, number)
    return number


def _as_int(profile: RiskProfile, field: str) -> int:
    value = getattr(profile, field)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ServiceValidationError(field, "must be a whole number")
    return value


def risk_profile_validate(profile: RiskProfile) -> None:
    """The database's check constraints, said with the field's name first (and a few more rules).

    Normalizes the decimals of `profile` in place (rounded to the stored decimal places).
    """
    profile.name = _clean_name(profile.name, RiskProfile._meta.get_field("name").max_length)
    leverage = _as_int(profile, "max_leverage")
    if not 1 <= leverage <= MAX_LEVERAGE:
        raise ServiceValidationError("max_leverage", f"must be between 1 and {MAX_LEVERAGE}")
    if _as_int(profile, "max_open_positions") < 1:
        raise ServiceValidationError("max_open_positions", "must be at least 1")
    if _as_int(profile, "symbol_cooldown_seconds") < 0:
        raise ServiceValidationError("symbol_cooldown_seconds", "may not be negative")
    min_order = _as_decimal(profile, "min_order_notional")
    max_order = _as_decimal(profile, "max_order_notional")
    max_total = _as_decimal(profile, "max_total_notional")
    assert min_order is not None and max_order is not None and max_total is not None
    if min_order < 0:
        raise ServiceValidationError("min_order_notional", "may not be negative")
    if max_order <= 0:
        raise ServiceValidationError("max_order_notional", "must be positive")
    if min_order > max_order:
        raise ServiceValidationError(
            "min_order_notional",
            f"{plain_number(min_order)} is above max_order_notional {plain_number(max_order)}: no order could pass",
        )
    if max_total < max_order:
        raise ServiceValidationError(
            "max_total_notional",
            f"{plain_number(max_total)} is below max_order_notional {plain_number(max_order)}: no order could pass",
        )
    for field in _OPTIONAL_FIELDS:
        cap = _as_decimal(profile, field)
        if cap is not None and cap <= 0:
            raise ServiceValidationError(field, "must be positive; leave it empty for no limit")
    risk_per_trade = _as_decimal(profile, "risk_per_trade")
    assert risk_per_trade is not None
    if not Decimal(0) < risk_per_trade <= Decimal("0.1"):
        raise ServiceValidationError("risk_per_trade", "must be above 0 and at most 0.1 (10 % of equity)")
    for field in ("daily_loss_limit", "max_drawdown"):
        fraction = _as_decimal(profile, field)
        assert fraction is not None
        if not Decimal(0) < fraction < 1:
            raise ServiceValidationError(field, "must be a fraction above 0 and below 1 (0.03 = 3 %)")
    for field in _BOOLEAN_FIELDS:
        if not isinstance(getattr(profile, field), bool):
            raise ServiceValidationError(field, "must be true or false")
    if RiskProfile.objects.filter(name=profile.name).exclude(pk=profile.pk).exists():
        raise ServiceValidationError("name", f"a risk profile named {profile.name!r} already exists")


def trader_validate(trader: Trader) -> None:
    trader.name = _clean_name(trader.name, Trader._meta.get_field("name").max_length)
    if trader.account_id is None:
        raise ServiceValidationError("account", "is required")
    if trader.risk_profile_id is None:
        raise ServiceValidationError("risk_profile", "is required")
    if not isinstance(trader.live, bool):
        raise ServiceValidationError("live", "must be true or false")
    if trader.live and trader.account.mode != ExchangeAccount.Mode.LIVE:
        account = trader.account
        raise ServiceValidationError(
            "live", f"only a live account's trader can trade live; {account.name} is a {account.mode} account"
        )
    _validate_strategy(trader)
    _validate_trading_rules(trader)
    if Trader.objects.filter(name=trader.name).exclude(pk=trader.pk).exists():
        raise ServiceValidationError("name", f"a trader named {trader.name!r} already exists")


def _validate_strategy(trader: Trader) -> None:
    version = trader.strategy_version
    if version is None:
        return
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ServiceValidationError(
            "strategy_version", "must be a version number (1 or more), or empty for the latest"
        )
    if trader.strategy is None:
        raise ServiceValidationError("strategy_version", "pins a version of a strategy: choose the strategy too")
    if version > trader.strategy.version or not trader.strategy.history.filter(version=version).exists():
        raise ServiceValidationError(
            "strategy_version",
            f"{trader.strategy.name} has no version {version} (latest: {trader.strategy.version})",
        )


def _choice(trader: Trader, field: str) -> str:
    value = getattr(trader, field)
    allowed = [choice for choice, _label in Trader._meta.get_field(field).choices]
    if value not in allowed:
        raise ServiceValidationError(field, f"{value!r} is not one of: {', '.join(allowed)}")
    return value


def _positive_decimal(
    trader: Trader, field: str, *, maximum: Decimal | None = None, allow_zero: bool = False
) -> Decimal:
    value = getattr(trader, field)
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise ServiceValidationError(field, f"{value!r} is not a number") from None
    model_field = Trader._meta.get_field(field)
    assert isinstance(model_field, models.DecimalField)
    if not number.is_finite() or number.as_tuple().exponent < -model_field.decimal_places:  # type: ignore[operator]
        raise ServiceValidationError(field, f"must be a number with at most {model_field.decimal_places} decimals")
    if number < 0 or (number == 0 and not allow_zero):
        raise ServiceValidationError(field, "must be positive")
    if maximum is not None and number > maximum:
        raise ServiceValidationError(field, f"must be at most {plain_number(maximum)}")
    if number.adjusted() >= model_field.max_digits - model_field.decimal_places:
        raise ServiceValidationError(field, "is too large")
    setattr(trader, field, number)
    return number


def _validate_ai(trader: Trader) -> None:
    mode = _choice(trader, "decision_mode")
    _choice(trader, "ai_ask")
    if mode == Trader.DecisionMode.AI and trader.ai_model_config_id is None:
        raise ServiceValidationError("ai_model_config", "an AI trader needs a model config to ask")
    tokens = trader.ai_daily_token_budget
    if tokens is not None and (isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 0):
        raise ServiceValidationError("ai_daily_token_budget", "must be a whole number of tokens (0 or more), or empty")
    if trader.ai_daily_cost_budget is not None:
        _positive_decimal(trader, "ai_daily_cost_budget", allow_zero=True)


def _validate_trading_rules(trader: Trader) -> None:
    _validate_ai(trader)
    sizing = _choice(trader, "sizing")
    _positive_decimal(trader, "sizing_pct", maximum=Decimal(100))
    leverage = trader.leverage
    if isinstance(leverage, bool) or not isinstance(leverage, int) or not 1 <= leverage <= MAX_LEVERAGE:
        raise ServiceValidationError("leverage", f"must be a whole number from 1 to {MAX_LEVERAGE}")
    for field in ("stop_loss", "take_profit"):
        kind = _choice(trader, field)
        value = _positive_decimal(trader, f"{field}_value", allow_zero=kind == Trader.Level.NONE)
        if field == "stop_loss" and kind == Trader.Level.PERCENT and value >= 100:
            raise ServiceValidationError("stop_loss_value", "a stop-loss 100 % or more from the fill never triggers")
    if sizing == Trader.Sizing.RISK and trader.stop_loss == Trader.Level.NONE:
        raise ServiceValidationError("sizing", "risk sizing sizes to the stop distance: choose a stop-loss rule")
    period = trader.atr_period
    if isinstance(period, bool) or not isinstance(period, int) or not 1 <= period <= MAX_ATR_PERIOD:
        raise ServiceValidationError("atr_period", f"must be a whole number from 1 to {MAX_ATR_PERIOD}")


def trader_markets_validate(trader: Trader, markets: Any) -> list[Market]:
    """The trader's markets: ids or rows, every one on the trader's account's exchange. Stores nothing."""
    if not isinstance(markets, (list, tuple)):
        raise ServiceValidationError("markets", "must be a list of market ids")
    resolved = [_resolve(Market, market, "markets") for market in markets]
    exchange = trader.account.exchange
    for market in resolved:
        if market.exchange != exchange:
            raise ServiceValidationError(
                "markets", f"{market.symbol} is a {market.exchange} market; {trader.account.name} trades on {exchange}"
            )
    if len({market.pk for market in resolved}) != len(resolved):
        raise ServiceValidationError("markets", "lists a market twice")
    return resolved


def _save_unique(instance: RiskProfile | Trader, *, noun: str) -> None:
    try:
        # The savepoint keeps the outer transaction usable when two requests race for one name and
        # the unique constraint, not the lookup in the validation, is what catches the second.
        with transaction.atomic():
            instance.save()
    except IntegrityError:
        if type(instance).objects.filter(name=instance.name).exclude(pk=instance.pk).exists():
            raise ServiceValidationError("name", f"a {noun} named {instance.name!r} already exists") from None
        raise


def _check_fields(changes: Mapping[str, Any], editable: tuple[str, ...]) -> None:
    for field in changes:
        if field not in editable:
            raise ServiceValidationError(field, "is not an editable field")


# --- risk profiles -------------------------------------------------------------------------------


@transaction.atomic
def risk_profile_create(
    *,
    name: str,
    max_leverage: int = 5,
    max_order_notional: Decimal = Decimal(5000),
    max_total_notional: Decimal = Decimal(20000),
    max_open_positions: int = 3,
    symbol_cooldown_seconds: int = 300,
    risk_per_trade: Decimal = Decimal("0.01"),
    min_order_notional: Decimal = Decimal(10),
    max_symbol_notional: Decimal | None = None,
    max_asset_notional: Decimal | None = None,
    require_stop_loss: bool = True,
    daily_loss_limit: Decimal = Decimal("0.03"),
    max_drawdown: Decimal = Decimal("0.10"),
    reset_daily_halt_next_day: bool = True,
    secrets: Mapping[str, Any] | None = None,
    user: Any = None,
) -> RiskProfile:
    """The defaults are the model's. `secrets` and `user` are ignored: the generic CRUD router passes them,
    a risk profile has no secrets, and a new profile loosens nothing (moving a trader onto it may wait)."""
    profile = RiskProfile(
        name=name,
        max_leverage=max_leverage,
        max_order_notional=max_order_notional,
        max_total_notional=max_total_notional,
        max_open_positions=max_open_positions,
        symbol_cooldown_seconds=symbol_cooldown_seconds,
        risk_per_trade=risk_per_trade,
        min_order_notional=min_order_notional,
        max_symbol_notional=max_symbol_notional,
        max_asset_notional=max_asset_notional,
        require_stop_loss=require_stop_loss,
        daily_loss_limit=daily_loss_limit,
        max_drawdown=max_drawdown,
        reset_daily_halt_next_day=reset_daily_halt_next_day,
    )
    risk_profile_validate(profile)
    _save_unique(profile, noun="risk profile")
    return profile


@transaction.atomic
def risk_profile_update(
    *,
    profile: RiskProfile,
    changes: Mapping[str, Any],
    secrets: Mapping[str, Any] | None = None,
    user: Any = None,
    approval: ChangeRequest | None = None,
) -> RiskProfile:
    """Apply `changes`. A loosened limit waits for a second admin (four_eyes): the rest applies at once and
    the loosened fields are filed as a change request (the whole edit, when the rest cannot stand alone);
    the returned profile lists it (apps.core.pending.pending_of). `approval`: the approved request being applied."""
    _check_fields(changes, RISK_PROFILE_FIELDS)
    profile = RiskProfile.objects.select_for_update().get(pk=profile.pk)
    before = copy.copy(profile)
    for field, value in changes.items():
        setattr(profile, field, value)
    risk_profile_validate(profile)
    kind, target = ChangeRequest.Kind.RISK_RAISE, ChangeRequest.Target.RISK_PROFILE
    if four_eyes.approving(approval, kind=kind, target_type=target, target_id=profile.pk):
        assert approval is not None
        four_eyes.approval_record(profile, approval)
        _save_unique(profile, noun="risk profile")
        return profile
    held = four_eyes.loosened_limits(before, profile)
    if not held:
        _save_unique(profile, noun="risk profile")
        return profile
    after, profile = profile, copy.copy(before)
    for field in changes:
        if field not in held:
            setattr(profile, field, getattr(after, field))
    try:
        risk_profile_validate(profile)
    except ServiceValidationError:
        # e.g. a raised minimum order above the old maximum: only valid with the raised maximum.
        held = [field for field in changes if getattr(before, field) != getattr(after, field)]
        profile = copy.copy(before)
    _save_unique(profile, noun="risk profile")
    request = four_eyes.change_request_create(
        kind=kind,
        target=profile,
        target_type=target,
        changes=four_eyes.diff(
            {field: getattr(before, field) for field in held}, {field: getattr(after, field) for field in held}
        ),
        user=user,
    )
    return pending_set(profile, [request])


@transaction.atomic
def risk_profile_delete(*, profile: RiskProfile) -> None:
    delete_unless_used(profile, profile.delete, advice="move its traders to another profile first")


# --- traders -------------------------------------------------------------------------------------


def _resolve(model: type[models.Model], value: Any, field: str) -> Any:
    if isinstance(value, model):
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise ServiceValidationError(field, "must be an id")
    found = model._default_manager.filter(pk=value).first()
    if found is None:
        raise ServiceValidationError(field, f"no {model._meta.verbose_name} with id {value}")
    return found


@transaction.atomic
def trader_create(
    *,
    name: str,
    account: ExchangeAccount | int,
    risk_profile: RiskProfile | int,
    live: bool = False,
    markets: list[Market | int] | None = None,
    secrets: Mapping[str, Any] | None = None,
    user: Any = None,
    **rules: Any,
) -> Trader:
    """`account`, `risk_profile`, `strategy` and `markets` are rows or their ids; `rules` are the
    other TRADER_FIELDS (the model's defaults otherwise). A trader starts stopped. A trader created
    live is stored with its live flag off and a change request for it (four-eyes).
    `secrets` is ignored (see risk_profile_create)."""
    _check_fields(rules, TRADER_FIELDS)
    for field, model in RELATED_RULES.items():
        if rules.get(field) is not None:
            rules[field] = _resolve(model, rules[field], field)
    trader = Trader(
        name=name,
        account=_resolve(ExchangeAccount, account, "account"),
        risk_profile=_resolve(RiskProfile, risk_profile, "risk_profile"),
        live=live,
        **rules,
    )
    trader_validate(trader)
    chosen = trader_markets_validate(trader, markets or [])
    trader.live = False
    _save_unique(trader, noun="trader")
    trader.markets.set(chosen)
    if live is not True:
        return trader
    return pending_set(trader, [_trader_request(ChangeRequest.Kind.TRADER_LIVE, trader, {"live": (False, True)}, user)])


def _trader_request(kind: str, trader: Trader, changes: dict[str, tuple[Any, Any]], user: Any) -> ChangeRequest:
    return four_eyes.change_request_create(
        kind=kind,
        target=trader,
        target_type=ChangeRequest.Target.TRADER,
        changes=four_eyes.diff(
            {field: values[0] for field, values in changes.items()},
            {field: values[1] for field, values in changes.items()},
        ),
        user=user,
    )


def _trader_apply(trader: Trader, changes: Mapping[str, Any]) -> list[Market] | None:
    """Set `changes` on the (locked) trader and validate it; the markets to set, or None to keep them."""
    for field, value in changes.items():
        if field == "account":
            account = _resolve(ExchangeAccount, value, "account")
            if account.pk != trader.account_id and trader.plans.filter(status__in=OPEN_PLAN_STATUSES).exists():
                # Open plans hold orders on the old account; moving the trader would orphan them.
                raise ServiceValidationError("account", "cannot change while the trader has open trade plans")
            trader.account = account
        elif field == "risk_profile":
            trader.risk_profile = _resolve(RiskProfile, value, "risk_profile")
        elif field in RELATED_RULES:
            setattr(trader, field, None if value is None else _resolve(RELATED_RULES[field], value, field))
        elif field != "markets":
            setattr(trader, field, value)
    trader_validate(trader)
    markets = trader_markets_validate(trader, changes["markets"]) if "markets" in changes else None
    if markets is None and "account" in changes:
        # The markets must stay on the account's exchange.
        markets = trader_markets_validate(trader, list(trader.markets.all()))
    if trader.is_active:
        _check_startable(trader, markets if markets is not None else list(trader.markets.all()))
    return markets


@transaction.atomic
def trader_update(
    *,
    trader: Trader,
    changes: Mapping[str, Any],
    secrets: Mapping[str, Any] | None = None,
    user: Any = None,
    approval: ChangeRequest | None = None,
) -> Trader:
    """Apply `changes`. Going live, a looser risk profile, and a live trader's model, prompt or decision
    mode wait for a second admin (four_eyes.trader_held): the rest applies at once and each held part is
    filed as a change request, listed on the returned trader (apps.core.pending.pending_of). `approval`: the
    approved request being applied."""
    _check_fields(changes, TRADER_FIELDS)
    trader = Trader.objects.select_for_update().get(pk=trader.pk)
    approved: set[str] = set()
    if approval is not None:
        four_eyes.approving(approval, kind=approval.kind, target_type=ChangeRequest.Target.TRADER, target_id=trader.pk)
        approved.add(approval.kind)
        four_eyes.approval_record(trader, approval)
    before = copy.copy(trader)
    markets = _trader_apply(trader, changes)
    held = four_eyes.trader_held(before, trader, approved=approved)
    if held:
        after, trader = trader, copy.copy(before)
        held_fields = {field for fields in held.values() for field in fields}
        try:
            markets = _trader_apply(
                trader, {field: value for field, value in changes.items() if field not in held_fields}
            )
        except ServiceValidationError as exc:
            waiting = ", ".join(sorted(held_fields))
            raise ServiceValidationError(
                exc.field,
                f"{exc.message} (without {waiting}, which wait for a second admin: send {waiting} alone first)",
            ) from None
    _save_unique(trader, noun="trader")
    if markets is not None:
        trader.markets.set(markets)
    if not held:
        return trader
    requests = [
        _trader_request(
            kind, trader, {field: (getattr(before, field), getattr(after, field)) for field in fields}, user
        )
        for kind, fields in held.items()
    ]
    return pending_set(trader, requests)


# --- start and stop ------------------------------------------------------------------------------


def _check_startable(trader: Trader, markets: list[Market]) -> None:
    """What a running trader needs; an edit of a running trader must keep it true."""
    if trader.strategy is None:
        raise ServiceValidationError("strategy", "a trader needs a strategy to run")
    if not markets:
        raise ServiceValidationError("markets", "a trader needs at least one market to run")
    inactive = [market.symbol for market in markets if not market.active]
    if inactive:
        raise ServiceValidationError("markets", f"switched off (inactive): {', '.join(inactive)}")


def _check_live_start(trader: Trader, confirmation: str) -> None:
    """Live: the global setting, the trader's live flag and the typed account name, as for a live plan."""
    account = trader.account
    if account.mode != ExchangeAccount.Mode.LIVE:
        return
    if not settings.LIVE_TRADING_ENABLED:
        raise TradeRefused("live trading is switched off for this installation (LIVE_TRADING_ENABLED)")
    if not trader.live:
        raise TradeRefused(f"trader {trader.name} is not allowed to trade live (its live flag is off)")
    if confirmation.strip() != account.name:
        raise ServiceValidationError("confirmation", f"type the account name {account.name!r} to start a live trader")


@transaction.atomic
def trader_start(*, trader: Trader, user: Any, confirmation: str = "", strict: bool = False) -> Trader:
    """Start the trader's cycles. Starting a running (or halted) trader changes nothing, or raises
    TradeConflict when `strict` (an operator's click on a page out of date); a trader in error starts
    again with its failure count reset."""
    # of=self: PostgreSQL refuses FOR UPDATE on the nullable side of the outer join to the strategy.
    trader = Trader.objects.select_for_update(of=("self",)).select_related("account", "strategy").get(pk=trader.pk)
    if trader.is_active:
        if strict:
            raise TradeConflict(f"trader {trader.name} is already {trader.status}")
        return trader
    _check_startable(trader, list(trader.markets.all()))
    _check_live_start(trader, confirmation)
    return _status_set(trader, Trader.Status.RUNNING, f"started by {user or 'the system'}", user, failures=0)


@transaction.atomic
def trader_stop(*, trader: Trader, user: Any, strict: bool = False) -> Trader:
    """Stop the trader's cycles. Open positions keep their stop-loss and take-profit; close them from
    their plans. Stopping a stopped trader changes nothing, or raises TradeConflict when `strict`."""
    trader = Trader.objects.select_for_update().get(pk=trader.pk)
    if trader.status == Trader.Status.STOPPED:
        if strict:
            raise TradeConflict(f"trader {trader.name} is already stopped")
        return trader
    return _status_set(trader, Trader.Status.STOPPED, f"stopped by {user or 'the system'}", user)


def _status_set(trader: Trader, status: str, reason: str, user: Any, **extra: Any) -> Trader:
    trader.status, trader.status_reason = status, reason
    if "failures" in extra:
        trader.consecutive_failures = extra["failures"]
    trader._change_reason = reason  # type: ignore[attr-defined]
    if user is not None:
        trader._history_user = user  # type: ignore[attr-defined]
    trader.save()
    trader_status_publish(trader_id=trader.pk, status=trader.status, heartbeat_at=trader.heartbeat_at)
    return trader


def trader_status_publish(*, trader_id: int, status: str, heartbeat_at: datetime | None) -> None:
    """Tell open pages the trader's status and heartbeat (in the caller's transaction)."""
    publish(EventType.TRADER, {"trader_id": trader_id, "status": status, "heartbeat_at": heartbeat_at})


def _halt_record(*, trader_id: int | None, action: str, kind: str, reason: str, actor: Any = None) -> None:
    """A halt or reset in the trader's (None: the global switch's) history, and the event for open pages."""
    HaltEvent.objects.create(trader_id=trader_id, action=action, kind=kind, reason=reason, actor=actor)
    publish(EventType.HALT, {"trader_id": trader_id, "action": action, "kind": kind, "reason": reason})


@transaction.atomic
def trader_delete(*, trader: Trader) -> None:
    # Its trade plans and halt history keep the trader for the audit trail.
    delete_unless_used(trader, trader.delete, advice="they keep it for the audit trail")


# --- halts ---------------------------------------------------------------------------------------


def _utc_today(now: datetime) -> date:
    return now.astimezone(UTC).date()


def _lock_state(trader: Trader) -> TraderRiskState | None:
    return TraderRiskState.objects.select_for_update().filter(trader_id=trader.pk).first()


def _create_state(trader: Trader, *, now: datetime, equity: Decimal, **extra: Any) -> TraderRiskState | None:
    """Create the trader's state row; None when another worker created it first (then lock theirs)."""
    try:
        with transaction.atomic():
            return TraderRiskState.objects.create(
                trader=trader,
                day=_utc_today(now),
                day_start_equity=equity,
                peak_equity=equity,
                last_equity=equity,
                **extra,
            )
    except IntegrityError:
        return None


def _equity_state(row: TraderRiskState, *, equity: Decimal) -> EquityState:
    day_start, peak = row.day_start_equity, row.peak_equity
    if day_start == 0 and peak == 0:
        # Zero references mean "never measured" (an operator halted the trader before its first
        # equity update): start them from this measurement instead of leaving the daily limit
        # unarmed for the rest of the day (a loss from zero is no loss).
        day_start = peak = equity
    return EquityState(
        day=row.day,
        day_start_equity=day_start,
        peak_equity=peak,
        halt=HaltKind(row.halt) if row.halt else None,
        halt_reason=row.halt_reason,
    )


def _store(row: TraderRiskState, state: EquityState) -> None:
    row.day = state.day
    row.day_start_equity = state.day_start_equity
    row.peak_equity = state.peak_equity
    row.halt = state.halt.value if state.halt else ""
    row.halt_reason = state.halt_reason[:REASON_MAX_LENGTH]


def _alert_halt(trader: Trader, reason: str) -> None:
    alert_raise(
        kind=Alert.Kind.TRADER_HALTED,
        subject=f"trader:{trader.pk}",
        account=trader.account,
        message=f"Trader {trader.name} halted: {reason}"[:1000],
    )


@transaction.atomic
def trader_risk_update(*, trader: Trader, equity: Decimal, now: datetime | None = None) -> TraderRiskState:
    """Feed a new equity measurement to the daily-loss and drawdown halts (apps.traders.risk).

    A halt that newly appears gets a HaltEvent and a critical Alert, once: later updates while it
    holds change the references only. A daily-loss halt that lifted itself at the new UTC day gets
    a reset event.
    """
    now = now or timezone.now()
    equity = Decimal(equity)
    trader = Trader.objects.select_related("risk_profile", "account").get(pk=trader.pk)
    limits = trader.risk_profile.limits()
    row = _lock_state(trader) or _create_state(trader, now=now, equity=equity) or _lock_state(trader)
    assert row is not None
    # A row made by this call (peak == last == equity, no halt) and "no state yet" give the same result.
    previous = _equity_state(row, equity=equity)
    state = risk.equity_update(previous, equity=equity, now=now, limits=limits)
    # Exactly the condition under which risk.equity_update lifts a daily-loss halt.
    lifted = previous.halt == HaltKind.DAILY_LOSS and state.day > previous.day and limits.reset_daily_halt_next_day
    newly_halted = state.halt is not None and (previous.halt is None or lifted)
    _store(row, state)
    row.last_equity = equity
    daily_loss_alert_update(trader=trader, day=row.day, day_start_equity=row.day_start_equity, equity=equity)
    if lifted:
        row.halted_at = None
        _halt_record(
            trader_id=trader.pk, action=HaltEvent.Action.RESET, kind=HaltKind.DAILY_LOSS, reason=DAILY_RESET_REASON
        )
    if newly_halted:
        assert state.halt is not None
        row.halted_at = now
        _halt_record(trader_id=trader.pk, action=HaltEvent.Action.HALT, kind=state.halt, reason=row.halt_reason)
        _alert_halt(trader, row.halt_reason)
    row.save()
    return row


@transaction.atomic
def trader_halt(*, trader: Trader, reason: str, user: Any, now: datetime | None = None) -> TraderRiskState:
    """An operator's halt: the trader opens no new positions until someone resets it.

    A trader never measured yet gets a state row with today's date and zero equities; zeros mean
    "unknown", so its first equity update starts the loss references from that measurement.
    A trader already halted for a reason that waits for a person (drawdown, operator) stays as it
    is; a daily-loss halt becomes an operator halt, so it no longer lifts itself at the next UTC day.
    """
    reason = _clean_reason(reason)
    now = now or timezone.now()
    row = _lock_state(trader) or _create_state(trader, now=now, equity=Decimal(0)) or _lock_state(trader)
    assert row is not None
    if row.halt and row.halt != HaltKind.DAILY_LOSS:
        return row
    row.halt = HaltKind.OPERATOR.value
    row.halt_reason = reason
    row.halted_at = now
    row.save()
    _halt_record(trader_id=trader.pk, action=HaltEvent.Action.HALT, kind=HaltKind.OPERATOR, reason=reason, actor=user)
    return row


@transaction.atomic
def trader_halt_reset(
    *, trader: Trader, user: Any, reason: str, now: datetime | None = None, approval: ChangeRequest | None = None
) -> TraderRiskState:
    """An operator's reset: the halt ends and both loss references restart from the last known
    equity (risk.halt_reset), so the same drawdown does not halt the trader again at once.

    A live trader's reset lets real money trade again, like releasing the kill switch: it waits for a
    second admin (the returned state lists the request, apps.core.pending.pending_of). A paper trader's is at once."""
    reason = _clean_reason(reason)
    now = now or timezone.now()
    row = _lock_state(trader)
    if row is None or not row.halt:
        raise ServiceValidationError("trader", "is not halted")
    kind = ChangeRequest.Kind.HALT_RESET
    approved = four_eyes.approving(approval, kind=kind, target_type=ChangeRequest.Target.TRADER, target_id=trader.pk)
    if not approved and Trader.objects.filter(pk=trader.pk, live=True).exists():
        request = four_eyes.change_request_create(
            kind=kind,
            target=row.trader,
            target_type=ChangeRequest.Target.TRADER,
            changes=four_eyes.diff({"halt": row.halt, "halted_at": row.halted_at}, {"halt": "", "halted_at": None}),
            user=user,
            note=reason,
        )
        return pending_set(row, [request])
    halt_kind = row.halt
    state = risk.halt_reset(_equity_state(row, equity=row.last_equity), equity=row.last_equity, now=now)
    _store(row, state)
    row.halted_at = None
    row.save()
    _halt_record(trader_id=trader.pk, action=HaltEvent.Action.RESET, kind=halt_kind, reason=reason, actor=user)
    return row


# --- the global kill switch ----------------------------------------------------------------------


def _lock_switch() -> KillSwitch:
    KillSwitch.objects.get_or_create(pk=KillSwitch.SINGLETON_PK)
    return (
        KillSwitch.objects.select_for_update(of=("self",)).select_related("changed_by").get(pk=KillSwitch.SINGLETON_PK)
    )


def _switch_set(*, engaged: bool, user: Any, reason: str) -> KillSwitch:
    reason = _clean_reason(reason)
    switch = _lock_switch()
    if switch.engaged == engaged:
        return switch  # a double click or two operators at once: the first one's record stands
    switch.engaged = engaged
    switch.reason = reason
    switch.changed_by = user
    switch.changed_at = timezone.now()
    switch._change_reason = reason  # type: ignore[attr-defined]
    if user is not None:
        switch._history_user = user  # type: ignore[attr-defined]
    switch.save()
    action = HaltEvent.Action.HALT if engaged else HaltEvent.Action.RESET
    _halt_record(trader_id=None, action=action, kind=HaltKind.GLOBAL, reason=reason, actor=user)
    publish(EventType.KILL_SWITCH, {"engaged": engaged, "reason": reason})
    if engaged:
        who = user.get_username() if user is not None else "the system"
        alert_raise(
            kind=Alert.Kind.KILL_SWITCH,
            subject="kill_switch",
            message=f"Kill switch engaged by {who}: every trader is halted. Reason: {reason}"[:1000],
        )
    return switch


@transaction.atomic
def kill_switch_engage(*, user: Any, reason: str) -> KillSwitch:
    """Halt every trader. Engaging an engaged switch changes nothing and answers its state."""
    return _switch_set(engaged=True, user=user, reason=reason)


@transaction.atomic
def kill_switch_release(*, user: Any, reason: str, approval: ChangeRequest | None = None) -> KillSwitch:
    """Let traders trade again (each trader's own halt still holds). Releasing a released switch changes
    nothing. Releasing an engaged one waits for a second admin: the request is filed and listed on the
    returned switch (apps.core.pending.pending_of); `approval` is the approved request being applied."""
    reason = _clean_reason(reason)
    kind, target = ChangeRequest.Kind.KILL_SWITCH_RELEASE, ChangeRequest.Target.KILL_SWITCH
    if four_eyes.approving(approval, kind=kind, target_type=target, target_id=KillSwitch.SINGLETON_PK):
        return _switch_set(engaged=False, user=user, reason=reason)
    switch = _lock_switch()
    if not switch.engaged:
        return switch
    request = four_eyes.change_request_create(
        kind=kind,
        target=switch,
        target_type=target,
        changes=four_eyes.diff(
            {"engaged": True, "changed_at": switch.changed_at}, {"engaged": False, "changed_at": None}
        ),
        user=user,
        note=reason,
    )
    return pending_set(switch, [request])
