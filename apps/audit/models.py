"""The decision log: what each trader decided on each closed candle, with everything it read.

Rows reference traders, markets, plans and signals by their app labels only: apps.audit imports no
app above it, and the traders app writes these rows (apps.traders.services.cycles).
"""

from __future__ import annotations

import math
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils import timezone

MONEY = {"max_digits": 20, "decimal_places": 2}
# The candle's own prices and volume among the recorded values; every other value is an indicator.
CANDLE_FIELDS = frozenset({"open", "high", "low", "close", "volume"})


def missing_as_none(value: Any) -> Any:
    """A recorded value with every NaN or infinity (an indicator without a value yet) as None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: missing_as_none(item) for key, item in value.items()}
    if isinstance(value, list):
        return [missing_as_none(item) for item in value]
    return value


class DecisionLog(models.Model):
    """One trader's decision on one market's closed candle. The unique key is what makes a cycle
    idempotent: a retried task or a second worker finds the row and acts no more.

    `inputs` holds the price, every indicator value the rule read, the sentiment (the base asset's
    rolling news sentiment at the close; null when no headline counts), the position and the equity;
    never a secret. `realised_pnl` is filled in on the entry's decision when its plan completes."""

    class Action(models.TextChoices):
        ENTER_LONG = "enter_long", "Enter long"
        ENTER_SHORT = "enter_short", "Enter short"
        EXIT = "exit", "Exit"
        HOLD = "hold", "Hold"

    class Outcome(models.TextChoices):
        TRADED = "traded", "Traded"
        HELD = "held", "Held"
        REJECTED = "rejected", "Rejected by risk"
        ERROR = "error", "Error"

    trader = models.ForeignKey("traders.Trader", on_delete=models.PROTECT, related_name="decisions")
    market = models.ForeignKey("market.Market", on_delete=models.PROTECT, related_name="+")
    timeframe = models.CharField(max_length=4)
    candle_open_time = models.DateTimeField(help_text="UTC open time of the closed candle decided on.")
    decided_at = models.DateTimeField(default=timezone.now)
    mode = models.CharField(max_length=8, help_text="The trader's decision mode.")
    strategy_version = models.PositiveIntegerField(null=True, blank=True)
    inputs = models.JSONField(default=dict)
    action = models.CharField(max_length=12, choices=Action.choices)
    reason = models.CharField(max_length=500)
    signal = models.ForeignKey("signals.Signal", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    plan = models.ForeignKey(
        "traders.TradePlan", null=True, blank=True, on_delete=models.PROTECT, related_name="decisions"
    )
    risk_report = models.JSONField(null=True, blank=True)
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    error = models.CharField(max_length=1000, blank=True)
    latency_ms = models.PositiveIntegerField(default=0, help_text="Wall time of the decision and its plan.")
    realised_pnl = models.DecimalField(null=True, blank=True, **MONEY)
    # AI mode: what the model was asked and answered. Only the validated plan (with its reason summary
    # and evidence) is stored, never a raw answer; `reason` holds the summary or the no-trade reason.
    prompt_version = models.PositiveIntegerField(null=True, blank=True, help_text="The prompt template's version.")
    prompt_hash = models.CharField(max_length=64, blank=True, help_text="sha256 of the prompt sent (replay key).")
    ai_model = models.CharField(max_length=300, blank=True, help_text="The model that answered.")
    tokens_in = models.PositiveIntegerField(default=0)
    tokens_out = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(null=True, blank=True, max_digits=14, decimal_places=6)
    ai_latency_ms = models.PositiveIntegerField(null=True, blank=True, help_text="The model's answer time.")
    ai_plan = models.JSONField(null=True, blank=True, help_text="The validated trade plan; null: no trade.")
    evidence = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-decided_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["trader", "market", "candle_open_time"], name="decision_once_per_candle"),
            models.CheckConstraint(
                condition=Q(outcome__in=["traded", "held", "rejected", "error"]), name="decision_outcome_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["trader", "-decided_at"], name="decision_trader_newest"),
            models.Index(fields=["outcome", "-decided_at"], name="decision_outcome_newest"),
            models.Index(fields=["-decided_at", "-id"], name="decision_newest"),
            # The decision log lists and filters by the candle decided on, newest first.
            models.Index(fields=["-candle_open_time", "-id"], name="decision_candle_newest"),
            # `backtest --trader` replays a stored AI decision by its prompt's hash.
            models.Index(fields=["trader", "market", "prompt_hash"], name="decision_prompt_replay"),
        ]

    def __str__(self) -> str:
        return f"{self.trader_id} {self.market_id} {self.candle_open_time:%Y-%m-%d %H:%M}: {self.action}"

    def recorded_inputs(self) -> dict[str, Any]:
        """The inputs as recorded, a missing value (NaN) as None."""
        return missing_as_none(self.inputs) if isinstance(self.inputs, dict) else {}

    def indicator_values(self) -> list[tuple[str, float | None]]:
        """The indicator values the rule read (not the candle's prices), by name; None: no value yet."""
        values = self.recorded_inputs().get("values") or {}
        return sorted((name, value) for name, value in values.items() if name not in CANDLE_FIELDS)

    def evidence_items(self) -> list[dict[str, str]]:
        """The model's evidence as recorded (source, value, observation), for the pages."""
        return [item for item in self.evidence if isinstance(item, dict)] if isinstance(self.evidence, list) else []

    def sentiment(self) -> float | None:
        """The news sentiment the decision read; None when it was missing (no scored headline counted)."""
        return self.recorded_inputs().get("sentiment")
