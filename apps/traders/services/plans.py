"""Trade plans: preview (validate, ask the risk gate, estimate; nothing is sent), execute (the live
safeguards, the risk gate once more, then the state machine), cancel and close.

Every plan passes the RiskManager twice: at preview, so the operator sees the report, and at
execute, because prices, equity and halts change in between (DESIGN.md, safety invariant 3).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django_q.tasks import async_task

from apps.core.errors import ServiceValidationError
from apps.core.numbers import at_increment
from apps.exchanges.adapters import errors
from apps.exchanges.adapters.base import ExchangeAdapter
from apps.exchanges.adapters.factory import adapter_for_account
from apps.exchanges.adapters.paper_engine import TAKER_FEE_RATE
from apps.exchanges.adapters.rounding import round_to_tick
from apps.exchanges.models import ExchangeAccount
from apps.exchanges.selectors import account_exposure
from apps.market.models import MAX_LEVERAGE, Market
from apps.traders.models import PlanEvent, TradePlan, Trader
from apps.traders.risk import (
    AccountSnapshot,
    MarketLimits,
    OpenPosition,
    PlanRequest,
    RiskManager,
    RiskReport,
)
from apps.traders.selectors import trader_halt_kind
from apps.traders.services.errors import ExchangeUnreachable, TradeConflict, TradeRefused
from apps.traders.services.execution import plan_market_time, plan_transition
from apps.traders.services.traders import trader_risk_update
from apps.traders.trade_rules import trade_estimate

PlanStatus = TradePlan.Status
BUY, SELL = "buy", "sell"


@dataclass(frozen=True)
class PlanInput:
    trader_id: int
    symbol: str
    side: str
    order_type: str = TradePlan.OrderType.MARKET
    quantity: Decimal | None = None  # None: sized by the risk profile to the stop distance
    entry_price: Decimal | None = None
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    leverage: int | None = None  # None: the account's default
    reason: str = ""
    source: str = TradePlan.Source.OPERATOR
    source_ref: str = ""


@dataclass(frozen=True)
class _Assessment:
    reference_price: Decimal
    report: RiskReport


# --- validation ---------------------------------------------------------------------------------


def _trader(trader_id: int) -> Trader:
    trader = Trader.objects.select_related("account", "risk_profile").filter(pk=trader_id).first()
    if trader is None:
        raise ServiceValidationError("trader_id", f"no trader with id {trader_id}")
    return trader


def _market(account: ExchangeAccount, symbol: str) -> Market:
    market = Market.objects.filter(exchange=account.exchange, symbol=symbol).first()
    if market is None:
        raise ServiceValidationError("symbol", f"{account.exchange} has no market {symbol!r} in TradeOps")
    if not market.active:
        raise ServiceValidationError("symbol", f"{symbol} is switched off (inactive)")
    return market


def market_max_leverage(market: Market) -> int:
    if market.type == Market.Type.SPOT:
        return 1
    return market.max_leverage or MAX_LEVERAGE


def market_limits(market: Market) -> MarketLimits:
    """What the risk gate checks an order on `market` against."""
    return MarketLimits(
        symbol=market.symbol,
        base=market.base,
        step=market.amount_precision,
        min_amount=market.min_amount,
        min_notional=market.min_notional,
        max_leverage=market_max_leverage(market),
        is_spot=market.type == Market.Type.SPOT,
        tick=market.price_precision,
    )


def _on_ticks(plan: PlanInput, market: Market) -> PlanInput:
    """Prices moved to the nearest tick, as the exchange will take them (the preview shows them)."""
    prices = {"entry_price": plan.entry_price, "stop_loss": plan.stop_loss, "take_profit": plan.take_profit}
    return replace(
        plan,
        **{field: round_to_tick(value, market.price_precision) for field, value in prices.items() if value is not None},
    )


def _validate_shape(plan: PlanInput, market: Market, leverage: int) -> None:
    """What can be checked without a price."""
    if plan.side not in (BUY, SELL):
        raise ServiceValidationError("side", "must be buy or sell")
    if plan.order_type not in TradePlan.OrderType.values:
        raise ServiceValidationError("order_type", "must be market or limit")
    if plan.quantity is not None and plan.quantity <= 0:
        raise ServiceValidationError("quantity", "must be positive (leave it empty to size by risk)")
    for field in ("entry_price", "stop_loss", "take_profit"):
        value = getattr(plan, field)
        if value is not None and value <= 0:
            raise ServiceValidationError(field, "must be positive")
    if plan.order_type == TradePlan.OrderType.LIMIT and plan.entry_price is None:
        raise ServiceValidationError("entry_price", "a limit order needs an entry price")
    if plan.order_type == TradePlan.OrderType.MARKET and plan.entry_price is not None:
        raise ServiceValidationError("entry_price", "a market order takes no entry price (use a limit order)")
    top = market_max_leverage(market)
    if not 1 <= leverage <= top:
        raise ServiceValidationError("leverage", f"{leverage}x is outside 1..{top}x, the maximum for {market.symbol}")
    if market.type == Market.Type.SPOT:
        if plan.side == SELL:
            raise ServiceValidationError("side", "spot plans buy; a spot position is closed by its exit")
        if plan.stop_loss is not None and plan.take_profit is not None:
            raise ServiceValidationError(
                "take_profit", "on spot one protective order holds the coins: give a stop-loss or a take-profit"
            )


def _validate_prices(plan: PlanInput, price: Decimal, market: Market) -> None:
    """Stop-loss on the losing side of the entry, take-profit on the winning side."""
    below, above = ("below", "above") if plan.side == BUY else ("above", "below")
    entry = at_increment(price, market.price_precision)
    if plan.stop_loss is not None and (plan.stop_loss >= price if plan.side == BUY else plan.stop_loss <= price):
        raise ServiceValidationError("stop_loss", f"a {plan.side} plan's stop-loss must be {below} the entry {entry}")
    if plan.take_profit is not None and (plan.take_profit <= price if plan.side == BUY else plan.take_profit >= price):
        raise ServiceValidationError(
            "take_profit", f"a {plan.side} plan's take-profit must be {above} the entry {entry}"
        )


# --- the risk gate ------------------------------------------------------------------------------


def _snapshot(trader: Trader, adapter: ExchangeAdapter, market: Market) -> AccountSnapshot:
    exposure = account_exposure(adapter=adapter, exchange=market.exchange, quote=market.quote)
    latest = (
        TradePlan.objects.filter(trader=trader, submitted_at__isnull=False)
        .values("market__symbol")
        .annotate(last=Max("submitted_at"))
    )
    return AccountSnapshot(
        equity=exposure.equity,
        free_margin=exposure.free_margin,
        positions=tuple(OpenPosition(symbol=s, base=b, notional=n) for s, b, n in exposure.positions),
        last_entry_ms={row["market__symbol"]: int(row["last"].timestamp() * 1000) for row in latest},
        now_ms=int(timezone.now().timestamp() * 1000),
    )


def _assess(trader: Trader, market: Market, plan: PlanInput, leverage: int, adapter: ExchangeAdapter) -> _Assessment:
    try:
        price = plan.entry_price or adapter.fetch_ticker(market.symbol).last
        _validate_prices(plan, price, market)
        snapshot = _snapshot(trader, adapter, market)
    except errors.AdapterError as exc:
        raise ExchangeUnreachable(f"{trader.account.name}: {exc}") from None
    trader_risk_update(trader=trader, equity=snapshot.equity)
    request = PlanRequest(
        symbol=market.symbol,
        side=plan.side,
        entry_price=price,
        stop_loss=plan.stop_loss,
        take_profit=plan.take_profit,
        leverage=leverage,
        quantity=plan.quantity,
        live=trader.account.mode == ExchangeAccount.Mode.LIVE,
        fee_rate=TAKER_FEE_RATE[market.exchange],
    )
    report = RiskManager(trader.risk_profile.limits()).evaluate(
        request, snapshot, market_limits(market), halt=trader_halt_kind(trader=trader)
    )
    return _Assessment(reference_price=price, report=report)


def _estimate(
    trader: Trader, market: Market, plan: PlanInput, leverage: int, price: Decimal, quantity: Decimal
) -> dict:
    return trade_estimate(
        exchange=market.exchange,
        spot=market.type == Market.Type.SPOT,
        side=plan.side,
        quantity=quantity,
        price=price,
        leverage=leverage,
        limit=plan.order_type == TradePlan.OrderType.LIMIT,
        isolated=trader.account.margin_mode == ExchangeAccount.MarginMode.ISOLATED,
        stop_loss=plan.stop_loss,
        take_profit=plan.take_profit,
    ).as_dict()


# --- the services -------------------------------------------------------------------------------


def trade_plan_preview(*, plan: PlanInput, user: AbstractBaseUser | None) -> TradePlan:
    """Validate, ask the risk gate and estimate. Stores the plan (previewed, or rejected with the
    report that says why); sends nothing. Bad input raises ServiceValidationError and stores nothing."""
    trader = _trader(plan.trader_id)
    market = _market(trader.account, plan.symbol)
    leverage = plan.leverage if plan.leverage is not None else trader.account.default_leverage
    plan = _on_ticks(plan, market)
    _validate_shape(plan, market, leverage)
    assessment = _assess(trader, market, plan, leverage, adapter_for_account(trader.account))
    report = assessment.report
    estimate_quantity = report.quantity or report.requested_quantity or Decimal(0)
    with transaction.atomic():
        stored = TradePlan.objects.create(
            trader=trader,
            account=trader.account,
            market=market,
            side=plan.side,
            order_type=plan.order_type,
            requested_quantity=plan.quantity,
            quantity=report.quantity,
            entry_price=plan.entry_price,
            reference_price=assessment.reference_price,
            stop_loss=plan.stop_loss,
            take_profit=plan.take_profit,
            leverage=leverage,
            live=trader.account.mode == ExchangeAccount.Mode.LIVE,
            source=plan.source,
            source_ref=plan.source_ref,
            reason=plan.reason[:500],
            status=PlanStatus.PREVIEWED if report.approved else PlanStatus.REJECTED,
            status_reason=_verdict(report, market)[:500],
            risk_report=report.as_dict(),
            estimate=_estimate(trader, market, plan, leverage, assessment.reference_price, estimate_quantity),
            created_by=user,
            expires_at=timezone.now() + timedelta(seconds=settings.TRADE_PREVIEW_TTL_SECONDS),
        )
        PlanEvent.objects.create(
            plan=stored,
            to_status=stored.status,
            reason=stored.status_reason,
            actor=user,
            market_time=plan_market_time(stored),
        )
    return stored


def _verdict(report: RiskReport, market: Market) -> str:
    """One line for the plan's status (the full report is stored beside it)."""
    failures = report.failures()
    if failures:
        return "risk gate rejected: " + "; ".join(check.message for check in failures)
    quantity = "?" if report.quantity is None else at_increment(report.quantity, market.amount_precision)
    return f"risk gate: {report.decision.value.replace('_', ' ')}, quantity {quantity}"


def live_confirmation_phrase(plan: TradePlan) -> str:
    """What an operator types to send a live order: the account's name."""
    return plan.account.name


def _check_live(plan: TradePlan, confirmation: str) -> None:
    """Live orders need all of: the global setting, a live account, the trader's live flag and a typed
    confirmation (DESIGN.md, safety invariant 4)."""
    if plan.live != (plan.account.mode == ExchangeAccount.Mode.LIVE):
        raise TradeConflict(f"account {plan.account.name} changed mode since the preview; preview again")
    if not plan.live:
        return
    if not settings.LIVE_TRADING_ENABLED:
        raise TradeRefused("live trading is switched off for this installation (LIVE_TRADING_ENABLED)")
    if not plan.trader.live:
        raise TradeRefused(f"trader {plan.trader.name} is not allowed to trade live (its live flag is off)")
    expected = live_confirmation_phrase(plan)
    if confirmation.strip() != expected:
        raise ServiceValidationError("confirmation", f"type the account name {expected!r} to send a live order")


def _ensure_previewed(plan: TradePlan, user: AbstractBaseUser | None) -> None:
    if plan.status != PlanStatus.PREVIEWED:
        raise TradeConflict(f"plan {plan.pk} is {plan.get_status_display().lower()}; only a preview can be executed")
    if timezone.now() > plan.expires_at:
        plan_transition(plan=plan, to_status=PlanStatus.EXPIRED, reason="preview expired before execution", actor=user)
        raise TradeConflict(f"the preview of plan {plan.pk} expired at {plan.expires_at:%H:%M:%S} UTC; preview again")


def trade_plan_execute(*, plan_id: int, user: AbstractBaseUser | None, confirmation: str = "") -> TradePlan:
    """Send a previewed plan: the live safeguards, the risk gate again, then the state machine.
    Two requests racing on one plan: the row lock lets one through, the other gets TradeConflict."""
    plan = TradePlan.objects.select_related("account", "trader__risk_profile", "market").get(pk=plan_id)
    _ensure_previewed(plan, user)
    _check_live(plan, confirmation)
    request = PlanInput(
        trader_id=plan.trader_id,
        symbol=plan.market.symbol,
        side=plan.side,
        order_type=plan.order_type,
        quantity=plan.quantity,
        entry_price=plan.entry_price,
        stop_loss=plan.stop_loss,
        take_profit=plan.take_profit,
        leverage=plan.leverage,
    )
    # Asked outside the transaction: no database lock is held across exchange calls.
    report = _assess(plan.trader, plan.market, request, plan.leverage, adapter_for_account(plan.account)).report
    with transaction.atomic():
        locked = TradePlan.objects.select_for_update().get(pk=plan_id)
        if locked.status != PlanStatus.PREVIEWED:
            raise TradeConflict(f"plan {plan.pk} was executed or withdrawn by another request")
        if not report.approved:
            plan_transition(
                plan=locked,
                to_status=PlanStatus.REJECTED,
                reason=_verdict(report, plan.market),
                actor=user,
                risk_report=report.as_dict(),
                quantity=Decimal(0),
            )
        else:
            plan_transition(
                plan=locked,
                to_status=PlanStatus.PENDING,
                reason=f"executed by {user or 'the system'}; {_verdict(report, plan.market)}",
                actor=user,
                risk_report=report.as_dict(),
                quantity=report.quantity,
                submitted_at=timezone.now(),
            )
            trade_plan_enqueue(plan_id=plan.pk)
    if not report.approved:
        raise TradeRefused(_verdict(report, plan.market))
    plan.refresh_from_db()
    return plan


def trade_plan_enqueue(*, plan_id: int) -> None:
    """Hand the plan to a worker once the current transaction has committed."""
    transaction.on_commit(lambda: async_task("apps.traders.tasks.process_trade_plan", plan_id))


@transaction.atomic
def trade_plan_cancel(*, plan: TradePlan, user: AbstractBaseUser | None) -> TradePlan:
    """Withdraw a plan whose entry has not filled: a preview at once, a sent entry order through the worker."""
    plan = TradePlan.objects.select_for_update().get(pk=plan.pk)
    if plan.status == PlanStatus.PREVIEWED:
        return plan_transition(plan=plan, to_status=PlanStatus.CANCELLED, reason=f"cancelled by {user}", actor=user)
    if plan.status not in (PlanStatus.PENDING, PlanStatus.ENTRY_SUBMITTED):
        raise TradeConflict(f"plan {plan.pk} is {plan.get_status_display().lower()}; it can no longer be cancelled")
    return _request_exit(plan, user, f"cancel requested by {user}")


@transaction.atomic
def trade_plan_close(*, plan: TradePlan, user: AbstractBaseUser | None, reason: str = "") -> TradePlan:
    """Close the plan's position at market; its protective orders are cancelled afterwards.
    `reason` replaces "close requested by <user>" in the plan's timeline (a trader's exit says why)."""
    plan = TradePlan.objects.select_for_update().get(pk=plan.pk)
    if plan.status not in (PlanStatus.ENTRY_FILLED, PlanStatus.PROTECTION_PLACED):
        raise TradeConflict(f"plan {plan.pk} is {plan.get_status_display().lower()}; it holds no position to close")
    return _request_exit(plan, user, reason or f"close requested by {user}")


def _request_exit(plan: TradePlan, user: AbstractBaseUser | None, reason: str) -> TradePlan:
    if not plan.exit_requested:
        plan.exit_requested = True
        plan.save(update_fields=["exit_requested", "updated_at"])
        PlanEvent.objects.create(plan=plan, from_status=plan.status, to_status=plan.status, reason=reason, actor=user)
    trade_plan_enqueue(plan_id=plan.pk)
    return plan
