"""Trade plans, their executions (one row per order sent) and the plan's event timeline.

The Execution row, with its deterministic client order id, is committed before its order is sent
(DESIGN.md, safety invariant 2); the unique constraint on client_order_id is what stops a second
worker from creating a second order for the same leg.

The tables keep the names they had while these models lived in apps.exchanges, so a database
migrated before the move only needs `manage.py migrate traders 0002 --fake` (see README).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from apps.exchanges.models.accounts import ExchangeAccount
from apps.market.models import MAX_LEVERAGE, PRICE_DIGITS

TRADE_DIGITS = PRICE_DIGITS


class Side(models.TextChoices):
    BUY = "buy", "Buy (long)"
    SELL = "sell", "Sell (short)"


class TradePlan(models.Model):
    class OrderType(models.TextChoices):
        MARKET = "market", "Market"
        LIMIT = "limit", "Limit"

    class Source(models.TextChoices):
        OPERATOR = "operator", "Operator"
        SIGNAL = "signal", "Strategy signal"
        AI = "ai", "AI decision"
        TRADER = "trader", "Trader cycle"

    class Status(models.TextChoices):
        PREVIEWED = "previewed", "Previewed"
        REJECTED = "rejected", "Rejected by the risk gate"
        EXPIRED = "expired", "Preview expired"
        PENDING = "pending", "Pending"
        ENTRY_SUBMITTED = "entry_submitted", "Entry submitted"
        ENTRY_FILLED = "entry_filled", "Entry filled"
        PROTECTION_PLACED = "protection_placed", "Protection placed"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    class CloseReason(models.TextChoices):
        TAKE_PROFIT = "take_profit", "Take-profit hit"
        STOP_LOSS = "stop_loss", "Stop-loss hit"
        EXIT = "exit", "Closed by an exit order"
        EXTERNAL = "external", "Closed outside TradeOps"

    trader = models.ForeignKey("traders.Trader", on_delete=models.PROTECT, related_name="plans")
    account = models.ForeignKey(ExchangeAccount, on_delete=models.PROTECT, related_name="plans")
    market = models.ForeignKey("market.Market", on_delete=models.PROTECT, related_name="+")
    side = models.CharField(max_length=4, choices=Side.choices)
    order_type = models.CharField(max_length=6, choices=OrderType.choices, default=OrderType.MARKET)
    requested_quantity = models.DecimalField(
        null=True, blank=True, help_text="Empty: sized by the risk profile to the stop distance.", **TRADE_DIGITS
    )
    quantity = models.DecimalField(help_text="Approved by the risk gate, rounded to the market's step.", **TRADE_DIGITS)
    entry_price = models.DecimalField(null=True, blank=True, help_text="Limit orders only.", **TRADE_DIGITS)
    reference_price = models.DecimalField(help_text="The price the preview was computed at.", **TRADE_DIGITS)
    stop_loss = models.DecimalField(null=True, blank=True, **TRADE_DIGITS)
    take_profit = models.DecimalField(null=True, blank=True, **TRADE_DIGITS)
    leverage = models.PositiveSmallIntegerField(default=1)
    live = models.BooleanField(help_text="Sent to a live account (real money).")
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.OPERATOR)
    source_ref = models.CharField(max_length=100, blank=True, help_text="Signal or decision id, when not operator.")
    reason = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PREVIEWED)
    status_reason = models.CharField(max_length=500, blank=True)
    risk_report = models.JSONField(help_text="The risk gate's report: each rule with its value, limit and verdict.")
    estimate = models.JSONField(help_text="Notional, fees, margin and liquidation price estimated at preview.")
    filled_quantity = models.DecimalField(default=0, **TRADE_DIGITS)
    average_entry_price = models.DecimalField(null=True, blank=True, **TRADE_DIGITS)
    exit_price = models.DecimalField(null=True, blank=True, **TRADE_DIGITS)
    close_reason = models.CharField(max_length=12, choices=CloseReason.choices, blank=True)
    exit_requested = models.BooleanField(default=False, help_text="An operator asked to close the position.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    expires_at = models.DateTimeField(help_text="A preview not executed by then must be previewed again.")
    submitted_at = models.DateTimeField(null=True, blank=True, help_text="When an operator or trader executed it.")
    # A worker holds the plan while it talks to the exchange; an expired lease (a crashed worker)
    # lets another one resume.
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "exchanges_tradeplan"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "account"], name="trade_plan_status_idx"),
            models.Index(fields=["trader", "market", "created_at"], name="trade_plan_trader_market_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(requested_quantity__isnull=True) | Q(requested_quantity__gt=0),
                name="trade_plan_requested_quantity_positive",
            ),
            models.CheckConstraint(
                condition=Q(quantity__gte=0) & Q(filled_quantity__gte=0) & Q(reference_price__gt=0),
                name="trade_plan_amounts_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(leverage__gte=1) & Q(leverage__lte=MAX_LEVERAGE), name="trade_plan_leverage_range"
            ),
            models.CheckConstraint(
                condition=~Q(order_type="limit") | Q(entry_price__gt=0), name="trade_plan_limit_has_price"
            ),
            models.CheckConstraint(
                condition=Q(stop_loss__isnull=True) | Q(stop_loss__gt=0), name="trade_plan_stop_loss_positive"
            ),
            models.CheckConstraint(
                condition=Q(take_profit__isnull=True) | Q(take_profit__gt=0), name="trade_plan_take_profit_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"Plan {self.pk}: {self.side} {self.quantity} {self.market.symbol} ({self.status})"

    @property
    def is_open(self) -> bool:
        """Holds, or may hold, exchange orders or a position: workers and reconciliation visit it."""
        return self.status in OPEN_PLAN_STATUSES

    @property
    def closing_side(self) -> str:
        return Side.SELL if self.side == Side.BUY else Side.BUY


PlanStatus = TradePlan.Status
OPEN_PLAN_STATUSES = (
    PlanStatus.PENDING,
    PlanStatus.ENTRY_SUBMITTED,
    PlanStatus.ENTRY_FILLED,
    PlanStatus.PROTECTION_PLACED,
)
TERMINAL_PLAN_STATUSES = (
    PlanStatus.REJECTED,
    PlanStatus.EXPIRED,
    PlanStatus.COMPLETED,
    PlanStatus.FAILED,
    PlanStatus.CANCELLED,
)
# The state machine: every status change must be listed here; anything else raises.
PLAN_TRANSITIONS: dict[str, frozenset[str]] = {
    PlanStatus.PREVIEWED: frozenset(
        {PlanStatus.PENDING, PlanStatus.REJECTED, PlanStatus.EXPIRED, PlanStatus.CANCELLED}
    ),
    PlanStatus.PENDING: frozenset(
        {PlanStatus.ENTRY_SUBMITTED, PlanStatus.ENTRY_FILLED, PlanStatus.FAILED, PlanStatus.CANCELLED}
    ),
    PlanStatus.ENTRY_SUBMITTED: frozenset({PlanStatus.ENTRY_FILLED, PlanStatus.FAILED, PlanStatus.CANCELLED}),
    PlanStatus.ENTRY_FILLED: frozenset({PlanStatus.PROTECTION_PLACED, PlanStatus.COMPLETED, PlanStatus.FAILED}),
    PlanStatus.PROTECTION_PLACED: frozenset({PlanStatus.COMPLETED, PlanStatus.FAILED}),
    **{status: frozenset() for status in TERMINAL_PLAN_STATUSES},
}


class Execution(models.Model):
    """One order sent (or about to be sent) for one leg of a plan."""

    class Leg(models.TextChoices):
        ENTRY = "entry", "Entry"
        STOP_LOSS = "stop_loss", "Stop-loss"
        TAKE_PROFIT = "take_profit", "Take-profit"
        EXIT = "exit", "Exit"

    class Status(models.TextChoices):
        NEW = "new", "New (committed; the request may be in flight)"
        OPEN = "open", "Open"
        FILLED = "filled", "Filled"
        CANCELLED = "cancelled", "Cancelled"
        REJECTED = "rejected", "Rejected"
        EXPIRED = "expired", "Expired"
        UNKNOWN = "unknown", "Unknown (not found after sending; looked up again before any resend)"

    TERMINAL = (Status.FILLED, Status.CANCELLED, Status.REJECTED, Status.EXPIRED)
    PROTECTIVE = (Leg.STOP_LOSS, Leg.TAKE_PROFIT)

    plan = models.ForeignKey(TradePlan, on_delete=models.PROTECT, related_name="executions")
    leg = models.CharField(max_length=12, choices=Leg.choices)
    attempt = models.PositiveSmallIntegerField(default=1, help_text="A re-placed protective order is attempt 2, 3…")
    client_order_id = models.CharField(max_length=36, unique=True)
    side = models.CharField(max_length=4, choices=Side.choices)
    order_type = models.CharField(max_length=12)
    amount = models.DecimalField(**TRADE_DIGITS)
    price = models.DecimalField(null=True, blank=True, **TRADE_DIGITS)
    trigger_price = models.DecimalField(null=True, blank=True, **TRADE_DIGITS)
    reduce_only = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    exchange_order_id = models.CharField(max_length=64, blank=True)
    filled = models.DecimalField(default=0, **TRADE_DIGITS)
    average_price = models.DecimalField(null=True, blank=True, **TRADE_DIGITS)
    fee = models.DecimalField(default=0, **TRADE_DIGITS)
    fee_currency = models.CharField(max_length=12, blank=True)
    send_count = models.PositiveSmallIntegerField(default=0, help_text="Requests sent with this client order id.")
    last_sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "exchanges_execution"
        ordering = ["plan", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "leg", "attempt"], name="execution_unique_leg_attempt"),
            models.CheckConstraint(
                condition=Q(amount__gt=0) & Q(filled__gte=0) & Q(filled__lte=F("amount")) & Q(fee__gte=0),
                name="execution_amounts_consistent",
            ),
            models.CheckConstraint(
                condition=~Q(leg__in=["stop_loss", "take_profit"]) | Q(trigger_price__gt=0),
                name="execution_protective_has_trigger",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.client_order_id} {self.leg} {self.status}"

    @property
    def is_terminal(self) -> bool:
        return self.status in self.TERMINAL

    @property
    def is_protective(self) -> bool:
        return self.leg in self.PROTECTIVE


class PlanEvent(models.Model):
    """The plan's timeline: each status change, and notes such as a partial fill or a re-placed order."""

    plan = models.ForeignKey(TradePlan, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    market_time = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Paper plans: the replay's market time when it happened (prices are from then).",
    )
    from_status = models.CharField(max_length=20, choices=TradePlan.Status.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=TradePlan.Status.choices)
    reason = models.CharField(max_length=500)
    exchange_ref = models.CharField(max_length=100, blank=True, help_text="The exchange's order id, if any.")
    execution = models.ForeignKey(Execution, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        db_table = "exchanges_planevent"
        ordering = ["plan", "at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or '·'} → {self.to_status}: {self.reason}"
