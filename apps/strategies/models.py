from __future__ import annotations

from django.db import models
from simple_history.models import HistoricalRecords

from apps.strategies.spec import StrategySpec


class Strategy(models.Model):
    """An indicator strategy. `spec` is validated JSON (apps.strategies.spec); every saved
    change is a history record (who, when, before/after), and `version` counts spec changes."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    spec = models.JSONField()
    enabled = models.BooleanField(default=False, help_text="Enabled strategies are evaluated on each closed candle.")
    cooldown_bars = models.PositiveIntegerField(
        default=0, help_text="Bars after a signal during which repeats are suppressed (from the spec)."
    )
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "strategies"
        constraints = [models.CheckConstraint(condition=models.Q(version__gte=1), name="strategy_version_positive")]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    def parsed_spec(self) -> StrategySpec:
        return StrategySpec.model_validate(self.spec)
