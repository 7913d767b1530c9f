from __future__ import annotations

from django.db import models
from django.db.models import Q

from apps.market.models import Market, Timeframe
from apps.strategies.decisions import Direction as StrategyDirection
from apps.strategies.models import Strategy


class Signal(models.Model):
    """What a strategy said about one closed candle: a direction, emitted or suppressed by the cooldown.

    Suppressed signals are kept (and counted) so that an operator sees how often the cooldown
    held a strategy back. A bar has at most one signal per strategy (the unique constraint), so
    a retried task or two workers racing record it once; `strategy_version` says which rules
    decided it.
    """

    class Direction(models.TextChoices):
        LONG = StrategyDirection.LONG.value, "Long"
        SHORT = StrategyDirection.SHORT.value, "Short"
        EXIT = StrategyDirection.EXIT.value, "Exit"

    class Status(models.TextChoices):
        EMITTED = "emitted", "Emitted"
        SUPPRESSED = "suppressed", "Suppressed by the cooldown"

    # PROTECT: signals are the record traders and audits refer to; disable a strategy rather
    # than erase what it said (the strategy delete service reports what still uses it).
    strategy = models.ForeignKey(Strategy, on_delete=models.PROTECT, related_name="signals")
    strategy_version = models.PositiveIntegerField()
    market = models.ForeignKey(Market, on_delete=models.CASCADE, related_name="signals")
    timeframe = models.CharField(max_length=4, choices=Timeframe.choices)
    candle_open_time = models.DateTimeField(help_text="UTC open time of the candle that fired the signal.")
    direction = models.CharField(max_length=5, choices=Direction.choices)
    status = models.CharField(max_length=10, choices=Status.choices)
    inputs = models.JSONField(default=dict, help_text="Price and indicator values on that candle (null: no value yet).")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-candle_open_time", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["strategy", "market", "timeframe", "candle_open_time"], name="signal_unique_bar"
            ),
            models.CheckConstraint(condition=Q(direction__in=["long", "short", "exit"]), name="signal_direction_valid"),
            models.CheckConstraint(condition=Q(status__in=["emitted", "suppressed"]), name="signal_status_valid"),
            models.CheckConstraint(condition=Q(strategy_version__gte=1), name="signal_strategy_version_positive"),
        ]
        indexes = [
            # The listing is newest first, unfiltered or filtered by market or status; the unique
            # index above already serves "one strategy, newest first".
            models.Index(fields=["-candle_open_time", "-id"], name="signal_newest"),
            models.Index(fields=["market", "-candle_open_time"], name="signal_market_newest"),
            models.Index(fields=["status", "-candle_open_time"], name="signal_status_newest"),
            # Emitted/suppressed counts per strategy.
            models.Index(fields=["strategy", "status"], name="signal_strategy_status"),
        ]

    def __str__(self) -> str:
        series = f"{self.market.symbol} {self.timeframe} {self.candle_open_time:%Y-%m-%d %H:%M}"
        return f"{self.strategy.name} v{self.strategy_version} {self.direction} {series}"


class EvaluationCursor(models.Model):
    """How far one strategy version has been evaluated on one market and timeframe.

    `bars` candles have been fed through the evaluator, from the first stored one up to and
    including `cursor`. A worker that lacks the in-memory evaluator rebuilds it by replaying
    those candles, so a restart continues exactly where the last commit ended. Signals are
    recorded only for candles after `live_from`: a new version takes over from where the
    previous one stopped instead of rewriting the bars that version already decided.
    """

    strategy = models.ForeignKey(Strategy, on_delete=models.CASCADE, related_name="evaluation_cursors")
    strategy_version = models.PositiveIntegerField()
    market = models.ForeignKey(Market, on_delete=models.CASCADE, related_name="evaluation_cursors")
    timeframe = models.CharField(max_length=4, choices=Timeframe.choices)
    cursor = models.DateTimeField(null=True, blank=True, help_text="Open time of the last evaluated candle.")
    bars = models.PositiveIntegerField(default=0, help_text="Candles evaluated, from the first stored one.")
    live_from = models.DateTimeField(
        null=True, blank=True, help_text="Signals are recorded for candles after this one (empty: from the first)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["strategy", "market", "timeframe"]
        constraints = [
            models.UniqueConstraint(
                fields=["strategy", "strategy_version", "market", "timeframe"], name="evaluation_cursor_unique"
            ),
            models.CheckConstraint(
                condition=Q(cursor__isnull=True, bars=0) | Q(cursor__isnull=False, bars__gte=1),
                name="evaluation_cursor_bars_match",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.strategy_id} v{self.strategy_version} {self.market_id} {self.timeframe} @ {self.cursor}"
