from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from apps.exchanges.models.accounts import ExchangeAccount
from apps.market.models import MAX_LEVERAGE

# --- Paper exchange state (apps.exchanges.adapters.paper) -------------------------------------
# Rows of the simulated exchange behind paper accounts. Every write locks the account's
# PaperAccountState row first (select_for_update), so two workers never fill the same order twice.

PAPER_DIGITS = {"max_digits": 30, "decimal_places": 12}


class PaperAccountState(models.Model):
    """The paper account's USDT wallet: starting balance + realised PnL − fees."""

    account = models.OneToOneField(ExchangeAccount, on_delete=models.CASCADE, related_name="paper_state")
    cash = models.DecimalField(**PAPER_DIGITS)
    realized_pnl = models.DecimalField(default=0, **PAPER_DIGITS)
    fees_paid = models.DecimalField(default=0, **PAPER_DIGITS)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(fees_paid__gte=0), name="paper_state_fees_non_negative")]

    def __str__(self) -> str:
        return f"{self.account.name}: {self.cash} USDT"


class PaperPosition(models.Model):
    """One net (one-way) position per account and market; a flat one keeps amount 0 and its settings."""

    class Side(models.TextChoices):
        LONG = "long", "Long"
        SHORT = "short", "Short"

    account = models.ForeignKey(ExchangeAccount, on_delete=models.CASCADE, related_name="paper_positions")
    market = models.ForeignKey("market.Market", on_delete=models.PROTECT, related_name="+")
    side = models.CharField(max_length=5, choices=Side.choices, blank=True)
    amount = models.DecimalField(default=0, **PAPER_DIGITS)
    entry_price = models.DecimalField(default=0, **PAPER_DIGITS)
    realized_pnl = models.DecimalField(default=0, **PAPER_DIGITS)
    leverage = models.PositiveSmallIntegerField()
    margin_mode = models.CharField(max_length=8, choices=ExchangeAccount.MarginMode.choices)
    opened_candle_time = models.DateTimeField(
        null=True, blank=True, help_text="Open time of the candle during which the position was opened."
    )
    processed_through = models.DateTimeField(
        null=True, blank=True, help_text="Newest candle whose range resting orders were checked against."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["account", "market"]
        constraints = [
            models.UniqueConstraint(fields=["account", "market"], name="paper_position_unique_market"),
            models.CheckConstraint(
                condition=(Q(amount=0) & Q(side=""))
                | (Q(amount__gt=0) & Q(side__in=["long", "short"]) & Q(entry_price__gt=0)),
                name="paper_position_flat_or_sided",
            ),
            models.CheckConstraint(
                condition=Q(leverage__gte=1) & Q(leverage__lte=MAX_LEVERAGE), name="paper_position_leverage_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account.name} {self.market.symbol} {self.side or 'flat'} {self.amount}"


class PaperOrder(models.Model):
    class Side(models.TextChoices):
        BUY = "buy", "Buy"
        SELL = "sell", "Sell"

    class Type(models.TextChoices):
        MARKET = "market", "Market"
        LIMIT = "limit", "Limit"
        STOP_LOSS = "stop_loss", "Stop-loss"
        TAKE_PROFIT = "take_profit", "Take-profit"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Filled"
        CANCELED = "canceled", "Canceled"
        EXPIRED = "expired", "Expired"
        REJECTED = "rejected", "Rejected"

    PROTECTIVE_TYPES = (Type.STOP_LOSS, Type.TAKE_PROFIT)

    account = models.ForeignKey(ExchangeAccount, on_delete=models.CASCADE, related_name="paper_orders")
    market = models.ForeignKey("market.Market", on_delete=models.PROTECT, related_name="+")
    client_order_id = models.CharField(max_length=64)
    side = models.CharField(max_length=4, choices=Side.choices)
    type = models.CharField(max_length=12, choices=Type.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    status_reason = models.CharField(max_length=200, blank=True)
    amount = models.DecimalField(**PAPER_DIGITS)
    filled = models.DecimalField(default=0, **PAPER_DIGITS)
    price = models.DecimalField(null=True, blank=True, **PAPER_DIGITS)
    trigger_price = models.DecimalField(null=True, blank=True, **PAPER_DIGITS)
    reduce_only = models.BooleanField(default=False)
    average_price = models.DecimalField(null=True, blank=True, **PAPER_DIGITS)
    fee = models.DecimalField(default=0, **PAPER_DIGITS)
    created_candle_time = models.DateTimeField(
        null=True, blank=True, help_text="Open time of the newest released candle when the order was placed."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["account", "created_at", "id"]
        indexes = [models.Index(fields=["account", "status", "market"], name="paper_order_open_idx")]
        constraints = [
            # The idempotency key: a retried submission finds its order instead of placing another.
            models.UniqueConstraint(fields=["account", "client_order_id"], name="paper_order_unique_client_id"),
            models.CheckConstraint(
                condition=Q(amount__gt=0) & Q(filled__gte=0) & Q(filled__lte=F("amount")) & Q(fee__gte=0),
                name="paper_order_amounts_consistent",
            ),
            models.CheckConstraint(condition=~Q(type="limit") | Q(price__gt=0), name="paper_order_limit_has_price"),
            models.CheckConstraint(
                condition=~Q(type__in=["stop_loss", "take_profit"]) | (Q(trigger_price__gt=0) & Q(reduce_only=True)),
                name="paper_order_protective_is_reduce_only_trigger",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.client_order_id} {self.side} {self.type} {self.amount} {self.status}"


class PaperFill(models.Model):
    class Liquidity(models.TextChoices):
        MAKER = "maker", "Maker"
        TAKER = "taker", "Taker"

    order = models.ForeignKey(PaperOrder, on_delete=models.CASCADE, related_name="fills")
    price = models.DecimalField(**PAPER_DIGITS)
    amount = models.DecimalField(**PAPER_DIGITS)
    fee = models.DecimalField(**PAPER_DIGITS)
    liquidity = models.CharField(max_length=5, choices=Liquidity.choices)
    realized_pnl = models.DecimalField(default=0, **PAPER_DIGITS)
    candle_time = models.DateTimeField(null=True, blank=True, help_text="The candle that filled a resting order.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(price__gt=0) & Q(amount__gt=0) & Q(fee__gte=0), name="paper_fill_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} @ {self.price}"
