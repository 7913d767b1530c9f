from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Case, Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value, When
from pydantic import ValidationError

from apps.ai.selectors import DayUsage, model_usage_days
from apps.audit.models import DecisionLog
from apps.audit.selectors import DecisionFilters, decision_list
from apps.core.errors import ServiceValidationError
from apps.exchanges.adapters.base import Ticker
from apps.exchanges.adapters.factory import adapter_for_account
from apps.exchanges.adapters.paper_engine import BPS, DEFAULT_SLIPPAGE_BPS, TAKER_FEE_RATE
from apps.exchanges.models import ExchangeAccount
from apps.market.models import Market
from apps.market.timeframes import timeframe_ms
from apps.strategies.spec import StrategySpec
from apps.traders.cycle import EntryRules, LevelRule, MarketTerms
from apps.traders.models import (
    ACTIVE_TRADER_STATUSES,
    RULE_DEFAULTS,
    Alert,
    AlertChannel,
    AlertRule,
    ChangeRequest,
    Execution,
    HaltEvent,
    KillSwitch,
    PlanEvent,
    RiskProfile,
    TradePlan,
    Trader,
    TraderRiskState,
)
from apps.traders.risk import HaltKind
from apps.traders.trade_rules import Fill, PlanResult, plan_result

# An AI trader's model calls carry this label (apps.ai may not import the traders app).
AI_CALLER_PREFIX = "trader:"
RISK_PROFILE_ORDERINGS = ("name", "-name", "created_at", "-created_at", "updated_at", "-updated_at")
TRADER_ORDERINGS = (
    "name",
    "-name",
    "created_at",
    "-created_at",
    "updated_at",
    "-updated_at",
    "status",
    "-status",
    "account__name",
    "-account__name",
    "last_cycle_at",
    "-last_cycle_at",
    "heartbeat_at",
    "-heartbeat_at",
    "open_positions",
    "-open_positions",
)
# A plan holds a position from its entry's fill until it completes.
POSITION_PLAN_STATUSES = (TradePlan.Status.ENTRY_FILLED, TradePlan.Status.PROTECTION_PLACED)
# A running trader's heartbeat is stale when older than this many intervals of its timeframe.
STALE_AFTER_INTERVALS = 2
NAMES_SHOWN = 20  # known names listed when a name is not found
# The minute's dispatch runs every active trader's cycle at least this often, whatever its timeframe.
MIN_CYCLE_INTERVAL = timedelta(minutes=1)


def risk_profile_list(*, search: str | None = None, ordering: str = "name") -> QuerySet[RiskProfile]:
    profiles = RiskProfile.objects.all()
    if search:
        profiles = profiles.filter(name__icontains=search)
    return profiles.order_by(ordering if ordering in RISK_PROFILE_ORDERINGS else "name", "pk")


def trader_list(
    *,
    account: int | None = None,
    risk_profile: int | None = None,
    live: bool | None = None,
    halted: bool | None = None,
    status: str | None = None,
    search: str | None = None,
    ordering: str = "name",
) -> QuerySet[Trader]:
    """Traders with their account, profile, risk state, strategy and markets, and `open_positions`:
    how many of their plans hold a position."""
    traders = (
        Trader.objects.select_related("account", "risk_profile", "risk_state", "strategy")
        .prefetch_related(Prefetch("markets", queryset=Market.objects.order_by("symbol")))
        .annotate(open_positions=Count("plans", filter=Q(plans__status__in=POSITION_PLAN_STATUSES)))
    )
    if status:
        traders = traders.filter(status=status)
    if account is not None:
        traders = traders.filter(account_id=account)
    if risk_profile is not None:
        traders = traders.filter(risk_profile_id=risk_profile)
    if live is not None:
        traders = traders.filter(live=live)
    if halted is not None:
        running = Q(risk_state__isnull=True) | Q(risk_state__halt="")
        traders = traders.exclude(running) if halted else traders.filter(running)
    if search:
        traders = traders.filter(name__icontains=search)
    return traders.order_by(ordering if ordering in TRADER_ORDERINGS else "name", "pk")


def trader_by_name(*, name: str) -> Trader:
    """The trader called `name`; ServiceValidationError naming the known ones otherwise."""
    trader = (
        Trader.objects.select_related("account", "risk_profile", "strategy", "ai_model_config", "prompt_template")
        .filter(name=name)
        .first()
    )
    if trader is None:
        known = list(Trader.objects.order_by("name").values_list("name", flat=True)[:NAMES_SHOWN])
        raise ServiceValidationError("trader", f"no trader named {name!r} (known: {', '.join(known) or 'none'})")
    return trader


def trader_market(*, trader: Trader, field: str, asked: str | None, matches: Callable[[Market], bool]) -> Market:
    """The market of the trader's that `matches` (`asked` names it in the error), or its first when
    nothing is asked; ServiceValidationError on `field` listing what it trades otherwise."""
    markets = list(trader.markets.order_by("pk"))
    if not markets:
        raise ServiceValidationError(field, f"trader {trader.name!r} trades no market")
    if asked is None:
        return markets[0]
    for market in markets:
        if matches(market):
            return market
    listed = ", ".join(market.symbol for market in markets)
    raise ServiceValidationError(field, f"trader {trader.name!r} does not trade {asked} (it trades {listed})")


def trader_timeframe(*, trader: Trader) -> str | None:
    """The timeframe the trader decides on: its strategy's (or pinned version's); None without one."""
    spec = trader_strategy_spec(trader=trader)
    return spec.timeframe if spec is not None else None


def trader_followed_series() -> set[tuple[int, str]]:
    """(market id, timeframe) of every market a running or halted trader trades, on its strategy's timeframe:
    what live collection must fetch for the traders (registered in apps.market.collection)."""
    followed: set[tuple[int, str]] = set()
    traders = Trader.objects.filter(status__in=ACTIVE_TRADER_STATUSES).select_related("strategy")
    for trader in traders.prefetch_related("markets"):
        timeframe = trader_timeframe(trader=trader)
        if timeframe is not None:
            followed.update((market.pk, timeframe) for market in trader.markets.all())
    return followed


def trader_heartbeat_stale(*, trader: Trader, now: datetime) -> bool:
    """A running (or halted) trader whose cycles have not run for STALE_AFTER_INTERVALS intervals of
    its timeframe: no worker is running its cycles. Until its first cycle, the time it was started
    (its last save) stands in for the heartbeat. A stopped trader is never stale."""
    if trader.status not in ACTIVE_TRADER_STATUSES:
        return False
    timeframe = trader_timeframe(trader=trader)
    interval = timedelta(milliseconds=timeframe_ms(timeframe)) if timeframe else MIN_CYCLE_INTERVAL
    last_seen = max(moment for moment in (trader.heartbeat_at, trader.updated_at) if moment is not None)
    return now - last_seen > STALE_AFTER_INTERVALS * max(interval, MIN_CYCLE_INTERVAL)


def trader_open_positions(*, trader: Trader) -> int:
    """How many of the trader's plans hold a position (trader_list annotates it)."""
    annotated = getattr(trader, "open_positions", None)
    if annotated is not None:
        return annotated
    return trader.plans.filter(status__in=POSITION_PLAN_STATUSES).count()


@dataclass(frozen=True)
class TraderStatus:
    status: str
    reason: str
    last_cycle_at: datetime | None
    heartbeat_at: datetime | None
    heartbeat_stale: bool
    open_positions: int


def trader_status_get(*, trader: Trader, now: datetime) -> TraderStatus:
    return TraderStatus(
        status=trader.status,
        reason=trader.status_reason,
        last_cycle_at=trader.last_cycle_at,
        heartbeat_at=trader.heartbeat_at,
        heartbeat_stale=trader_heartbeat_stale(trader=trader, now=now),
        open_positions=trader_open_positions(trader=trader),
    )


def trader_decision_list(*, trader: Trader, limit: int) -> list[DecisionLog]:
    """The trader's newest decisions (newest candle first), as the decision log lists them."""
    return list(decision_list(filters=DecisionFilters(trader=trader.pk))[:limit])


def trader_ai_usage(*, trader: Trader, now: datetime, days: int = 14) -> list[DayUsage]:
    """The model calls of the trader's live cycles per UTC day, newest first (a backtest's calls
    carry another label and are not counted)."""
    return model_usage_days(caller=f"{AI_CALLER_PREFIX}{trader.pk}", days=days, now=now)


def trader_risk_state_get(*, trader: Trader) -> TraderRiskState | None:
    """The trader's state row, or None before its first equity update or halt (uses the
    select_related cache when there is one)."""
    try:
        return trader.risk_state
    except TraderRiskState.DoesNotExist:
        return None


def kill_switch_get() -> KillSwitch:
    """The switch; an unsaved released one when nobody has ever touched it."""
    switch = KillSwitch.objects.select_related("changed_by").filter(pk=KillSwitch.SINGLETON_PK).first()
    return switch or KillSwitch(pk=KillSwitch.SINGLETON_PK, engaged=False)


def trader_halt_kind(*, trader: Trader) -> HaltKind | None:
    """Why `trader` may not open a new position now, or None when it may.

    The trade engine asks this before every new entry, so it always reads the database: a halt
    or the kill switch must stop the very next entry, in every worker process.
    """
    if KillSwitch.objects.filter(pk=KillSwitch.SINGLETON_PK, engaged=True).exists():
        return HaltKind.GLOBAL
    halt = TraderRiskState.objects.filter(trader_id=trader.pk).values_list("halt", flat=True).first()
    return HaltKind(halt) if halt else None


def halt_event_list(
    *,
    trader: int | None = None,
    scope: str | None = None,
    action: str | None = None,
    kind: str | None = None,
) -> QuerySet[HaltEvent]:
    """Newest first. `scope`: "global" (the kill switch) or "trader" (every trader's own halts)."""
    events = HaltEvent.objects.select_related("trader", "actor")
    if trader is not None:
        events = events.filter(trader_id=trader)
    if scope == "global":
        events = events.filter(trader__isnull=True)
    elif scope == "trader":
        events = events.filter(trader__isnull=False)
    if action:
        events = events.filter(action=action)
    if kind:
        events = events.filter(kind=kind)
    return events.order_by("-at", "-id")


# --- trade plans and alerts (the /trade API and pages) -------------------------------------------

PLAN_ORDERINGS = ("-created_at", "created_at", "-updated_at", "updated_at", "status", "-status")


def _plans() -> QuerySet[TradePlan]:
    """Plans with their relations, and `created_market_time`: the replay's market time of the first event."""
    first_event = PlanEvent.objects.filter(plan=OuterRef("pk")).order_by("at", "id").values("market_time")[:1]
    return TradePlan.objects.select_related("trader", "account", "market", "created_by").annotate(
        created_market_time=Subquery(first_event)
    )


def trade_plan_list(
    *,
    status: str | None = None,
    trader_id: int | None = None,
    account_id: int | None = None,
    symbol: str | None = None,
    ordering: str = "-created_at",
) -> QuerySet[TradePlan]:
    """Newest first unless `ordering` (one of PLAN_ORDERINGS) says otherwise; executions prefetched
    for trade_plan_result."""
    plans = _plans().prefetch_related("executions")
    if status:
        plans = plans.filter(status=status)
    if trader_id is not None:
        plans = plans.filter(trader_id=trader_id)
    if account_id is not None:
        plans = plans.filter(account_id=account_id)
    if symbol:
        plans = plans.filter(market__symbol=symbol)
    return plans.order_by(ordering if ordering in PLAN_ORDERINGS else "-created_at", "-id")


def trade_plan_get(*, plan_id: int) -> TradePlan | None:
    """The plan with its executions, timeline (oldest first) and open alerts prefetched."""
    return (
        _plans()
        .prefetch_related(
            Prefetch("executions", queryset=Execution.objects.order_by("created_at", "id")),
            Prefetch("events", queryset=PlanEvent.objects.select_related("actor").order_by("at", "id")),
            Prefetch(
                "alerts",
                queryset=Alert.objects.filter(acknowledged_at__isnull=True).order_by("-created_at", "-id"),
                to_attr="open_alerts",
            ),
        )
        .filter(pk=plan_id)
        .first()
    )


def trade_plan_fills(*, plan: TradePlan) -> list[Fill]:
    """The plan's executions as fills (prefetched by the plan selectors). An execution is saved for the
    last time when its order fills or ends, so its `updated_at` is the fill's time."""
    return [
        Fill(
            leg=execution.leg,
            quantity=execution.filled,
            # The state machine's own fallback: a triggered protective order may report no average.
            price=execution.average_price or execution.price or execution.trigger_price,
            fee=execution.fee,
            fee_currency=execution.fee_currency,
            time=execution.updated_at,
        )
        for execution in plan.executions.all()
    ]


def trade_plan_result(*, plan: TradePlan) -> PlanResult:
    """Realised PnL and fees of the plan from its executions' fills (prefetched by the plan selectors)."""
    fills = trade_plan_fills(plan=plan)
    return plan_result(side=plan.side, base=plan.market.base, quote=plan.market.quote, fills=fills)


def alert_list(*, acknowledged: bool | None = None, plan_id: int | None = None) -> QuerySet[Alert]:
    """Unacknowledged alerts first, then newest first."""
    alerts = Alert.objects.select_related("account", "plan", "acknowledged_by")
    if acknowledged is not None:
        alerts = alerts.filter(acknowledged_at__isnull=not acknowledged)
    if plan_id is not None:
        alerts = alerts.filter(plan_id=plan_id)
    open_first = Case(When(acknowledged_at__isnull=True, then=Value(0)), default=Value(1), output_field=IntegerField())
    return alerts.order_by(open_first, "-created_at", "-id")


def alert_get(*, alert_id: int) -> Alert | None:
    return Alert.objects.select_related("account", "plan", "acknowledged_by").filter(pk=alert_id).first()


def alert_rule_get(*, kind: str) -> AlertRule:
    """The stored rule of `kind`, or an unsaved one with the defaults (RULE_DEFAULTS) when none was changed."""
    stored = AlertRule.objects.filter(kind=kind).first()
    return stored or _default_rule(kind)


def alert_rule_list() -> list[AlertRule]:
    """One rule per alert kind, stored or default, in the kinds' order."""
    stored = {rule.kind: rule for rule in AlertRule.objects.all()}
    return [stored.get(kind) or _default_rule(kind) for kind in Alert.Kind.values]


def _default_rule(kind: str) -> AlertRule:
    default = RULE_DEFAULTS[kind]
    return AlertRule(
        kind=kind,
        enabled=True,
        level=default.level,
        cooldown_minutes=default.cooldown_minutes,
        threshold=default.threshold,
    )


@dataclass(frozen=True)
class AlertHistoryFilters:
    kind: str = ""
    level: str = ""
    state: str = ""  # "open" or "acknowledged"
    delivery: str = ""  # an AlertDelivery.Status: alerts with a delivery in that state


def alert_history(*, filters: AlertHistoryFilters) -> QuerySet[Alert]:
    """Every alert, newest first, with its deliveries."""
    alerts = Alert.objects.select_related("account", "plan", "acknowledged_by").prefetch_related("deliveries")
    if filters.kind:
        alerts = alerts.filter(kind=filters.kind)
    if filters.level:
        alerts = alerts.filter(level=filters.level)
    if filters.state:
        alerts = alerts.filter(acknowledged_at__isnull=filters.state == "open")
    if filters.delivery:
        alerts = alerts.filter(deliveries__status=filters.delivery).distinct()
    return alerts.order_by("-created_at", "-id")


def alert_channel_list(*, enabled: bool | None = None) -> QuerySet[AlertChannel]:
    channels = AlertChannel.objects.select_related("url").order_by("name")
    return channels if enabled is None else channels.filter(enabled=enabled)


def alert_channel_get(*, channel_id: int) -> AlertChannel | None:
    return AlertChannel.objects.select_related("url").filter(pk=channel_id).first()


def trade_markets(*, account: ExchangeAccount) -> QuerySet[Market]:
    """The active markets a trader on `account` can be given a plan for."""
    return Market.objects.filter(exchange=account.exchange, active=True).order_by("symbol")


def market_ticker(*, account: ExchangeAccount, symbol: str) -> Ticker:
    """The last price of `symbol` as the account's exchange (or the paper exchange, on the feed of the
    account's price source) sees it. Raises AdapterError."""
    return adapter_for_account(account).fetch_ticker(symbol)


def trader_strategy_spec(*, trader: Trader) -> StrategySpec | None:
    """The rules the trader follows: its strategy's latest spec, or the pinned version's from the
    strategy's history. None when there is no strategy, no such version, or the spec no longer validates."""
    strategy = trader.strategy
    if strategy is None:
        return None
    data = strategy.spec
    if trader.strategy_version is not None and trader.strategy_version != strategy.version:
        record = strategy.history.filter(version=trader.strategy_version).order_by("-history_date").first()
        if record is None:
            return None
        data = record.spec
    try:
        return StrategySpec.model_validate(data)
    except ValidationError:
        return None


def trader_entry_rules(*, trader: Trader) -> EntryRules:
    """The trader's sizing and stop/target rules, risk sizing capped by its risk profile."""
    return EntryRules(
        sizing=trader.sizing,
        sizing_pct=trader.sizing_pct,
        stop_loss=LevelRule(trader.stop_loss, trader.stop_loss_value),
        take_profit=LevelRule(trader.take_profit, trader.take_profit_value),
        risk_cap_pct=trader.risk_profile.risk_per_trade * 100,
    )


def market_terms(*, market: Market) -> MarketTerms:
    """Tick, step, taker fee and the expected slippage of a market entry (the paper exchange's)."""
    return MarketTerms(
        tick=market.price_precision,
        step=market.amount_precision,
        fee_rate=TAKER_FEE_RATE[market.exchange],
        slippage=DEFAULT_SLIPPAGE_BPS / BPS,
    )


# --- four-eyes change requests -------------------------------------------------------------------


def change_request_list(*, status: str | None = None) -> QuerySet[ChangeRequest]:
    """Change requests, newest first; `status` narrows them (pending: what waits for a second admin)."""
    requests = ChangeRequest.objects.select_related("requested_by", "decided_by")
    if status:
        requests = requests.filter(status=status)
    return requests.order_by("-created_at", "-id")


def change_request_pending_count() -> int:
    return ChangeRequest.objects.filter(status=ChangeRequest.Status.PENDING).count()
