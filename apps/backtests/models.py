from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from apps.backtests.engine import FILL_CLOSE, FILL_NEXT_OPEN, FILLS
from apps.market.models import ExchangeId, Market, Timeframe
from apps.strategies.models import Strategy

PATH_LENGTH = 500


class BacktestRun(models.Model):
    """One backtest, from `manage.py backtest` or started on a strategy's page and run by the
    worker: what was run (spec snapshot, market, period, options), how far it got, its metrics
    and where its output files are. Grid sweeps are not stored.

    The result columns (period, bars, metrics, paths) are filled when the run is done; until
    then the period columns hold nothing and `requested_start`/`requested_end` what was asked."""

    class Source(models.TextChoices):
        PRESET = "preset", "Preset"
        STORED = "stored", "Stored strategy"
        FILE = "file", "Spec file"
        TRADER = "trader", "Trader"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Fill(models.TextChoices):
        NEXT_OPEN = FILL_NEXT_OPEN, "Next bar's open"
        CLOSE = FILL_CLOSE, "Signal bar's close"

    class Phase(models.TextChoices):
        LOADING = "loading", "Loading candles"
        COMPILING = "compiling", "Preparing compiled code"
        SIGNALS = "signals", "Computing signals"
        SIMULATING = "simulating", "Simulating"
        WRITING = "writing", "Writing reports"

    strategy_name = models.CharField(max_length=200)
    strategy_source = models.CharField(max_length=8, choices=Source.choices)
    # SET_NULL: a run outlives the strategy it ran; the name, version and spec stay on the run.
    strategy = models.ForeignKey(
        Strategy, null=True, blank=True, on_delete=models.SET_NULL, related_name="backtest_runs"
    )
    strategy_version = models.PositiveIntegerField(null=True, blank=True)
    spec = models.JSONField(help_text="The spec as run (timeframe and defaults written out).")

    market = models.ForeignKey(Market, null=True, blank=True, on_delete=models.SET_NULL, related_name="backtest_runs")
    exchange = models.CharField(max_length=20, choices=ExchangeId.choices)
    symbol = models.CharField(max_length=64)
    timeframe = models.CharField(max_length=4, choices=Timeframe.choices)
    requested_start = models.DateTimeField(null=True, blank=True, help_text="First bar asked for (inclusive).")
    requested_end = models.DateTimeField(null=True, blank=True, help_text="Bars opening before this (exclusive).")
    period_start = models.DateTimeField(null=True, blank=True, help_text="Open time of the first bar.")
    period_end = models.DateTimeField(null=True, blank=True, help_text="Open time of the last bar.")
    bars = models.PositiveIntegerField(default=0)

    initial_cash = models.DecimalField(max_digits=30, decimal_places=8)
    fee_bps = models.DecimalField(max_digits=12, decimal_places=6)
    slippage_bps = models.DecimalField(max_digits=12, decimal_places=6)
    size_pct = models.DecimalField(max_digits=12, decimal_places=6)
    sl_pct = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    tp_pct = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    fill = models.CharField(
        max_length=9, choices=Fill.choices, default=Fill.NEXT_OPEN, help_text="Where a signal's market order fills."
    )

    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    phase = models.CharField(max_length=10, choices=Phase.choices, blank=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done, 0 to 100.")
    error = models.TextField(blank=True, help_text="Why a failed run stopped, in plain words.")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    metrics = models.JSONField(default=dict)
    # Copies of the most used metrics, as columns so that the list can sort on them.
    total_return = models.FloatField(null=True)
    sharpe = models.FloatField(null=True)
    max_drawdown = models.FloatField(null=True)
    trade_count = models.PositiveIntegerField(default=0)

    output_dir = models.CharField(max_length=PATH_LENGTH)
    trades_path = models.CharField(max_length=PATH_LENGTH, blank=True)
    equity_path = models.CharField(max_length=PATH_LENGTH, blank=True)
    metrics_path = models.CharField(max_length=PATH_LENGTH, blank=True)
    report_path = models.CharField(max_length=PATH_LENGTH, blank=True)

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    duration_seconds = models.FloatField(
        null=True, blank=True, help_text="Wall time: reading candles, simulating, writing the files."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["-created_at"], name="backtestrun_created_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(initial_cash__gt=0)
                & Q(fee_bps__gte=0)
                & Q(slippage_bps__gte=0)
                & Q(size_pct__gt=0)
                & Q(size_pct__lte=100),
                name="backtestrun_options_in_range",
            ),
            models.CheckConstraint(
                condition=(Q(sl_pct__isnull=True) | Q(sl_pct__gt=0)) & (Q(tp_pct__isnull=True) | Q(tp_pct__gt=0)),
                name="backtestrun_levels_positive",
            ),
            models.CheckConstraint(condition=Q(fill__in=FILLS), name="backtestrun_fill_known"),
            models.CheckConstraint(condition=Q(period_end__gte=F("period_start")), name="backtestrun_period_ordered"),
            models.CheckConstraint(condition=Q(progress__lte=100), name="backtestrun_progress_percent"),
            # The pages show a finished run's files and metrics: a run is done only with them.
            models.CheckConstraint(
                condition=~Q(status="done") | (Q(period_start__isnull=False) & ~Q(report_path="")),
                name="backtestrun_done_has_results",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.strategy_name} on {self.symbol} {self.timeframe}"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    def output_path(self, kind: str) -> str:
        """The stored path of one output file: trades, equity, metrics or report."""
        return {
            "trades": self.trades_path,
            "equity": self.equity_path,
            "metrics": self.metrics_path,
            "report": self.report_path,
        }[kind]
