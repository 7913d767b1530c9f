"""Traders, their risk profiles and halts, and the global kill switch.

The rules themselves live in apps.traders.risk (no Django); a RiskProfile is their stored limits.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from apps.market.models import MAX_LEVERAGE
from apps.traders.risk import HaltKind, RiskLimits

MONEY = {"max_digits": 20, "decimal_places": 2}
FRACTION = {"max_digits": 6, "decimal_places": 5}


class RiskProfile(models.Model):
    name = models.CharField(max_length=100, unique=True)
    max_leverage = models.PositiveSmallIntegerField(default=5)
    max_order_notional = models.DecimalField(default=Decimal(5000), help_text="USDT per order.", **MONEY)
    max_total_notional = models.DecimalField(
        default=Decimal(20000), help_text="USDT across every open position, this order included.", **MONEY
    )
    max_open_positions = models.PositiveSmallIntegerField(default=3, help_text="Distinct symbols with a position.")
    symbol_cooldown_seconds = models.PositiveIntegerField(
        default=300, help_text="Minimum time between two entries on one symbol."
    )
    risk_per_trade = models.DecimalField(
        default=Decimal("0.01"), help_text="Fraction of equity lost if the stop-loss is hit (0.01 = 1 %).", **FRACTION
    )
    min_order_notional = models.DecimalField(
        default=Decimal(10), help_text="USDT; smaller sized orders are rejected.", **MONEY
    )
    max_symbol_notional = models.DecimalField(
        null=True, blank=True, help_text="USDT exposure per symbol; empty for no limit.", **MONEY
    )
    max_asset_notional = models.DecimalField(
        null=True, blank=True, help_text="USDT exposure per base asset across symbols; empty for no limit.", **MONEY
    )
    require_stop_loss = models.BooleanField(
        default=True, help_text="Live plans always need a stop-loss, whatever this says."
    )
    daily_loss_limit = models.DecimalField(
        default=Decimal("0.03"), help_text="Fraction of the UTC day's starting equity (0.03 = 3 %).", **FRACTION
    )
    max_drawdown = models.DecimalField(
        default=Decimal("0.10"), help_text="Fraction of the equity peak (0.10 = 10 %).", **FRACTION
    )
    reset_daily_halt_next_day = models.BooleanField(
        default=True, help_text="A daily-loss halt lifts itself at the next UTC day (a drawdown halt never does)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(max_leverage__gte=1) & Q(max_leverage__lte=MAX_LEVERAGE), name="risk_profile_leverage"
            ),
            models.CheckConstraint(
                condition=Q(max_order_notional__gt=0)
                & Q(max_total_notional__gte=models.F("max_order_notional"))
                & Q(min_order_notional__gte=0)
                & Q(min_order_notional__lte=models.F("max_order_notional")),
                name="risk_profile_notionals",
            ),
            models.CheckConstraint(
                condition=Q(risk_per_trade__gt=0) & Q(risk_per_trade__lte=Decimal("0.1")),
                name="risk_profile_risk_per_trade",
            ),
            models.CheckConstraint(
                condition=Q(daily_loss_limit__gt=0)
                & Q(daily_loss_limit__lt=1)
                & Q(max_drawdown__gt=0)
                & Q(max_drawdown__lt=1),
                name="risk_profile_loss_limits",
            ),
            models.CheckConstraint(condition=Q(max_open_positions__gte=1), name="risk_profile_open_positions"),
        ]

    def __str__(self) -> str:
        return self.name

    def limits(self) -> RiskLimits:
        return RiskLimits(
            max_leverage=self.max_leverage,
            max_order_notional=self.max_order_notional,
            max_total_notional=self.max_total_notional,
            max_open_positions=self.max_open_positions,
            symbol_cooldown_seconds=self.symbol_cooldown_seconds,
            risk_per_trade=self.risk_per_trade,
            min_order_notional=self.min_order_notional,
            max_symbol_notional=self.max_symbol_notional,
            max_asset_notional=self.max_asset_notional,
            require_stop_loss=self.require_stop_loss,
            daily_loss_limit=self.daily_loss_limit,
            max_drawdown=self.max_drawdown,
            reset_daily_halt_next_day=self.reset_daily_halt_next_day,
        )


class Trader(models.Model):
    """An exchange account traded under a risk profile by a strategy's rules, on one or more of the
    account's markets. Once started, worker cycles decide on each closed candle (apps.traders.cycle);
    an operator's manual trades also go through a trader, so the same gate applies."""

    class Status(models.TextChoices):
        STOPPED = "stopped", "Stopped"
        RUNNING = "running", "Running"
        HALTED = "halted", "Halted (no new entries)"
        ERROR = "error", "Error (stopped after failures)"

    class DecisionMode(models.TextChoices):
        RULES = "rules", "Rules (the strategy's signals)"
        AI = "ai", "AI (a language model's trade plan)"

    class AiAsk(models.TextChoices):
        SIGNAL = "signal", "When the strategy fires a signal"
        EVERY_CYCLE = "cycle", "Every cycle"

    class Sizing(models.TextChoices):
        RISK = "risk", "Risk % of equity to the stop"
        FIXED = "fixed", "Fixed % of equity"

    class Level(models.TextChoices):
        NONE = "none", "None"
        PERCENT = "percent", "% from the fill"
        ATR = "atr", "ATR multiple"

    name = models.CharField(max_length=100, unique=True)
    account = models.ForeignKey("exchanges.ExchangeAccount", on_delete=models.PROTECT, related_name="traders")
    risk_profile = models.ForeignKey(RiskProfile, on_delete=models.PROTECT, related_name="traders")
    live = models.BooleanField(
        default=False,
        help_text="Allows orders on a live account (which also need the global setting and a typed confirmation).",
    )
    strategy = models.ForeignKey(
        "strategies.Strategy", null=True, blank=True, on_delete=models.PROTECT, related_name="traders"
    )
    strategy_version = models.PositiveIntegerField(
        null=True, blank=True, help_text="Pin one version of the strategy; empty follows the latest."
    )
    markets = models.ManyToManyField("market.Market", blank=True, related_name="traders")
    decision_mode = models.CharField(max_length=8, choices=DecisionMode.choices, default=DecisionMode.RULES)
    ai_model_config = models.ForeignKey(
        "ai.ModelConfig",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="traders",
        help_text="The model an AI trader asks (required in AI mode).",
    )
    prompt_template = models.ForeignKey(
        "traders.PromptTemplate",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="traders",
        help_text="Empty: the default template.",
    )
    ai_ask = models.CharField(
        "ask the model",
        max_length=6,
        choices=AiAsk.choices,
        default=AiAsk.SIGNAL,
        help_text="AI mode: ask on the strategy's signals only (cheaper), or on every closed candle.",
    )
    ai_daily_token_budget = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="AI mode: tokens per UTC day for this trader; empty: no trader budget."
    )
    ai_daily_cost_budget = models.DecimalField(
        null=True,
        blank=True,
        max_digits=12,
        decimal_places=4,
        help_text="AI mode: cost per UTC day for this trader (the model config's currency); empty: no limit.",
    )
    sizing = models.CharField(max_length=5, choices=Sizing.choices, default=Sizing.RISK)
    sizing_pct = models.DecimalField(
        max_digits=7,
        decimal_places=4,
        default=Decimal(1),
        help_text="Percent of equity: lost at the stop (risk sizing) or spent on the position (fixed sizing).",
    )
    leverage = models.PositiveSmallIntegerField(default=1)
    stop_loss = models.CharField(max_length=7, choices=Level.choices, default=Level.PERCENT)
    stop_loss_value = models.DecimalField(
        max_digits=10, decimal_places=4, default=Decimal(2), help_text="Percent from the fill, or ATR multiples."
    )
    take_profit = models.CharField(max_length=7, choices=Level.choices, default=Level.PERCENT)
    take_profit_value = models.DecimalField(
        max_digits=10, decimal_places=4, default=Decimal(4), help_text="Percent from the fill, or ATR multiples."
    )
    atr_period = models.PositiveSmallIntegerField(default=14, help_text="Bars of the ATR that ATR levels use.")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.STOPPED)
    status_reason = models.CharField(max_length=500, blank=True)
    # Written by every cycle with queryset updates, so they stay out of the change history.
    last_cycle_at = models.DateTimeField(null=True, blank=True, help_text="When a cycle last decided on a candle.")
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="When a cycle last ran.")
    consecutive_failures = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(
        m2m_fields=[markets], excluded_fields=["last_cycle_at", "heartbeat_at", "consecutive_failures", "updated_at"]
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(sizing_pct__gt=0) & Q(sizing_pct__lte=100), name="trader_sizing_pct_range"
            ),
            models.CheckConstraint(
                condition=Q(leverage__gte=1) & Q(leverage__lte=MAX_LEVERAGE), name="trader_leverage_range"
            ),
            models.CheckConstraint(
                condition=Q(stop_loss_value__gte=0) & Q(take_profit_value__gte=0), name="trader_levels_non_negative"
            ),
            models.CheckConstraint(condition=Q(atr_period__gte=1), name="trader_atr_period_positive"),
            models.CheckConstraint(
                condition=Q(strategy_version__isnull=True) | Q(strategy_version__gte=1),
                name="trader_strategy_version_positive",
            ),
            models.CheckConstraint(
                condition=~Q(decision_mode="ai") | Q(ai_model_config__isnull=False), name="trader_ai_needs_model"
            ),
            models.CheckConstraint(
                condition=Q(ai_daily_cost_budget__isnull=True) | Q(ai_daily_cost_budget__gte=0),
                name="trader_ai_cost_budget_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        """Its cycles run: running, or halted (a halt blocks entries; exits and stops still work)."""
        return self.status in ACTIVE_TRADER_STATUSES


ACTIVE_TRADER_STATUSES = (Trader.Status.RUNNING, Trader.Status.HALTED)


HALT_CHOICES = [(kind.value, kind.value.replace("_", " ").capitalize()) for kind in HaltKind]


class TraderRiskState(models.Model):
    """The equity references of the loss limits, and the trader's halt. Written by the risk services
    only; kept apart from Trader so its frequent updates stay out of the trader's change history."""

    trader = models.OneToOneField(Trader, on_delete=models.CASCADE, related_name="risk_state")
    day = models.DateField(help_text="The UTC day day_start_equity belongs to.")
    day_start_equity = models.DecimalField(**MONEY)
    peak_equity = models.DecimalField(**MONEY)
    last_equity = models.DecimalField(**MONEY)
    halt = models.CharField(max_length=12, choices=HALT_CHOICES, blank=True)
    halt_reason = models.CharField(max_length=500, blank=True)
    halted_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.trader.name}: {'halted (' + self.halt + ')' if self.halt else 'trading'}"


class KillSwitch(models.Model):
    """The global kill switch: one row (pk 1). Engaged, it halts every trader."""

    SINGLETON_PK = 1

    engaged = models.BooleanField(default=False)
    reason = models.CharField(max_length=500, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="kill_switch_singleton")]

    def __str__(self) -> str:
        return "engaged" if self.engaged else "released"


class HaltEvent(models.Model):
    """Every halt and reset, of a trader or of the global switch: who, when, why."""

    class Action(models.TextChoices):
        HALT = "halt", "Halted"
        RESET = "reset", "Reset"

    # PROTECT: a halt is part of the audit trail; a trader with halt history is kept.
    trader = models.ForeignKey(Trader, null=True, blank=True, on_delete=models.PROTECT, related_name="halt_events")
    action = models.CharField(max_length=5, choices=Action.choices)
    kind = models.CharField(max_length=12, choices=HALT_CHOICES)
    reason = models.CharField(max_length=500)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        scope = self.trader.name if self.trader else "global"
        return f"{scope}: {self.action} ({self.kind})"
